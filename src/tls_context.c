/*
 * tls_context.c - owns turning a listener's ssl.* keys into an OpenSSL
 * server context, with the key and trust store formats Kafka deployments
 * use and Java's protocol and cipher-suite names.  Main thread, start-up.
 */
#define _GNU_SOURCE
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sys/stat.h>

#include "listeners.h"
#include "proto_codec.h"
#include "tls_context.h"
#include "util.h"

#define JKS_MAGIC 0xFEEDFEEDu

static const char *const known_keys[] = {
    "ssl.keystore.type", "ssl.keystore.location", "ssl.keystore.password", "ssl.key.password",
    "ssl.keystore.key", "ssl.keystore.certificate.chain", "ssl.truststore.type",
    "ssl.truststore.location", "ssl.truststore.password", "ssl.truststore.certificates",
    "ssl.client.auth", "ssl.enabled.protocols", "ssl.protocol", "ssl.cipher.suites",
    "ssl.endpoint.identification.algorithm", "ssl.principal.mapping.rules",
};

int tls_key_known(const char *key)
{
    for (size_t i = 0; i < ARRAY_SIZE(known_keys); i++)
        if (!strcmp(key, known_keys[i]))
            return 1;
    return 0;
}

typedef struct tls_build {
    const broker_config_t *cfg;
    const listener_t *l;
    tls_lookup_fn lookup;       /* NULL: server.properties only */
    void *lookup_ctx;
    SSL_CTX *ctx;
    char *err;
    size_t errlen;
} tls_build_t;

static const char *key_of(const tls_build_t *tb, const char *key)
{
    if (!tb->lookup)
        return listener_config(tb->cfg, tb->l, key);
    char prefixed[256];
    snprintf(prefixed, sizeof(prefixed), "listener.name.%s.%s", tb->l->name, key);
    for (char *c = prefixed + 14; *c && *c != '.'; c++)
        *c = (char)tolower((unsigned char)*c);
    const char *v = tb->lookup(tb->lookup_ctx, prefixed);
    return v ? v : tb->lookup(tb->lookup_ctx, key);
}

const char *tls_error_reason(char *buf, size_t len)
{
    unsigned long code = ERR_get_error();
    buf[0] = '\0';
    if (code)
        ERR_error_string_n(code, buf, len);
    ERR_clear_error();
    return buf;
}

/* Records the first failure with OpenSSL's reason appended; -1. */
static int fail(tls_build_t *tb, const char *fmt, const char *arg)
{
    char what[300], reason[160];
    snprintf(what, sizeof(what), fmt, arg ? arg : "");
    if (*tls_error_reason(reason, sizeof(reason)))
        snprintf(tb->err, tb->errlen, "listener %s: %s (%s)", tb->l->name, what, reason);
    else
        snprintf(tb->err, tb->errlen, "listener %s: %s", tb->l->name, what);
    return -1;
}

static int password_cb(char *buf, int size, int rwflag, void *u)
{
    (void)rwflag;
    const char *pw = u;
    if (!pw)
        return 0;
    int n = (int)strlen(pw);
    if (n > size)
        return 0;
    memcpy(buf, pw, (size_t)n);
    return n;
}

/* Inline PEM as server.properties holds it: often one continued line,
 * the base64 split by spaces.  Kafka reads that; OpenSSL wants the body
 * in lines, so each block is rewritten with 64-character lines. */
static char *pem_normalize(const char *text)
{
    size_t cap = strlen(text) * 2 + 64, len = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    const char *p = text;
    for (;;) {
        const char *begin = strstr(p, "-----BEGIN ");
        const char *label_end = begin ? strstr(begin + 11, "-----") : NULL;
        const char *end = label_end ? strstr(label_end + 5, "-----END ") : NULL;
        const char *end_close = end ? strstr(end + 9, "-----") : NULL;
        if (!end_close)
            break;
        len += (size_t)snprintf(out + len, cap - len, "%.*s\n", (int)(label_end + 5 - begin), begin);
        int col = 0;
        for (const char *c = label_end + 5; c < end; c++) {
            if (*c == ' ' || *c == '\t' || *c == '\r' || *c == '\n')
                continue;
            out[len++] = *c;
            if (++col == 64) {
                out[len++] = '\n';
                col = 0;
            }
        }
        if (col)
            out[len++] = '\n';
        len += (size_t)snprintf(out + len, cap - len, "%.*s\n", (int)(end_close + 5 - end), end);
        p = end_close + 5;
    }
    out[len] = '\0';
    return out;
}

/* A BIO over a file or over inline PEM text. */
static BIO *open_source(const char *location, const char *inline_pem)
{
    if (inline_pem) {
        char *pem = pem_normalize(inline_pem);
        BIO *mem = pem ? BIO_new(BIO_s_mem()) : NULL;
        if (mem && BIO_write(mem, pem, (int)strlen(pem)) < 0) {
            BIO_free(mem);
            mem = NULL;
        }
        free(pem);
        return mem;
    }
    return location ? BIO_new_file(location, "rb") : NULL;
}

static bool file_is_jks(const char *path)
{
    FILE *f = path ? fopen(path, "rb") : NULL;
    unsigned char m[4] = { 0 };
    bool jks = f && fread(m, 1, 4, f) == 4 &&
               (((uint32_t)m[0] << 24) | ((uint32_t)m[1] << 16) | ((uint32_t)m[2] << 8) | m[3]) ==
                   JKS_MAGIC;
    if (f)
        fclose(f);
    return jks;
}

static int load_pkcs12(tls_build_t *tb, const char *path, const char *password, EVP_PKEY **key,
                       X509 **cert, STACK_OF(X509) **chain)
{
    if (file_is_jks(path))
        return fail(tb, "%s is a JKS store; samsa reads PKCS12 and PEM stores (convert it: "
                        "keytool -importkeystore -deststoretype PKCS12)", path);
    BIO *in = BIO_new_file(path, "rb");
    PKCS12 *p12 = in ? d2i_PKCS12_bio(in, NULL) : NULL;
    BIO_free(in);
    if (!p12)
        return fail(tb, "cannot read PKCS12 store %s", path);
    int ok = PKCS12_parse(p12, password ? password : "", key, cert, chain);
    PKCS12_free(p12);
    if (!ok)
        return fail(tb, "cannot open PKCS12 store %s: wrong password or damaged store", path);
    return 0;
}

static int use_key_and_chain(tls_build_t *tb, EVP_PKEY *key, X509 *cert, STACK_OF(X509) *chain)
{
    int rc = 0;
    if (!key || !cert)
        rc = fail(tb, "the keystore has no private key with a certificate%s", NULL);
    else if (SSL_CTX_use_certificate(tb->ctx, cert) != 1 ||
             SSL_CTX_use_PrivateKey(tb->ctx, key) != 1 || SSL_CTX_check_private_key(tb->ctx) != 1)
        rc = fail(tb, "the keystore's key does not match its certificate%s", NULL);
    for (int i = 0; rc == 0 && chain && i < sk_X509_num(chain); i++)
        if (SSL_CTX_add1_chain_cert(tb->ctx, sk_X509_value(chain, i)) != 1)
            rc = fail(tb, "cannot add the keystore's certificate chain%s", NULL);
    EVP_PKEY_free(key);
    X509_free(cert);
    sk_X509_pop_free(chain, X509_free);
    return rc;
}

/* Key, certificate and chain from PEM (KIP-651): ssl.keystore.key with
 * ssl.keystore.certificate.chain, or one file holding both. */
static int load_pem_keystore(tls_build_t *tb, const char *location)
{
    if (key_of(tb, "ssl.keystore.password"))
        return fail(tb, "SSL key store password cannot be specified with PEM format, only key "
                        "password may be specified%s", NULL);
    const char *key_pw = key_of(tb, "ssl.key.password");
    const char *inline_key = key_of(tb, "ssl.keystore.key");
    const char *inline_chain = key_of(tb, "ssl.keystore.certificate.chain");
    BIO *kb = open_source(location, inline_key);
    EVP_PKEY *key = kb ? PEM_read_bio_PrivateKey(kb, NULL, password_cb, (void *)key_pw) : NULL;
    BIO_free(kb);
    if (!key)
        return fail(tb, "cannot read the PEM private key%s (wrong ssl.key.password?)",
                    location ? location : "");
    BIO *cb = open_source(location, inline_chain ? inline_chain : inline_key);
    X509 *cert = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
    STACK_OF(X509) *chain = sk_X509_new_null();
    for (X509 *x; cb && chain && (x = PEM_read_bio_X509(cb, NULL, NULL, NULL));)
        sk_X509_push(chain, x);
    BIO_free(cb);
    ERR_clear_error(); /* the end of the PEM chain */
    return use_key_and_chain(tb, key, cert, chain);
}

static int load_keystore(tls_build_t *tb)
{
    const char *type = key_of(tb, "ssl.keystore.type");
    const char *location = key_of(tb, "ssl.keystore.location");
    if (!type)
        type = "JKS";
    if (!strcasecmp(type, "PEM"))
        return load_pem_keystore(tb, location);
    if (strcasecmp(type, "PKCS12") && strcasecmp(type, "JKS"))
        return fail(tb, "ssl.keystore.type %s is not supported (PKCS12, PEM)", type);
    if (!location)
        return fail(tb, "a TLS listener needs ssl.keystore.location (or ssl.keystore.type=PEM "
                        "with ssl.keystore.key)%s", NULL);
    /* Java 9+ reads a PKCS12 file whatever the declared type; so does samsa. */
    const char *store_pw = key_of(tb, "ssl.keystore.password");
    const char *key_pw = key_of(tb, "ssl.key.password");
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    STACK_OF(X509) *chain = NULL;
    if (load_pkcs12(tb, location, store_pw, &key, &cert, &chain) < 0) {
        if (!key_pw || (store_pw && !strcmp(key_pw, store_pw)))
            return -1;
        tb->err[0] = '\0';
        if (load_pkcs12(tb, location, key_pw, &key, &cert, &chain) < 0)
            return -1;
    }
    return use_key_and_chain(tb, key, cert, chain);
}

static int trust_cert(tls_build_t *tb, X509 *x)
{
    X509_STORE *store = SSL_CTX_get_cert_store(tb->ctx);
    if (X509_STORE_add_cert(store, x) != 1 || SSL_CTX_add_client_CA(tb->ctx, x) != 1)
        return fail(tb, "cannot add a truststore certificate%s", NULL);
    return 0;
}

static int load_truststore(tls_build_t *tb)
{
    const char *type = key_of(tb, "ssl.truststore.type");
    const char *location = key_of(tb, "ssl.truststore.location");
    const char *inline_certs = key_of(tb, "ssl.truststore.certificates");
    if (!location && !inline_certs)
        return 0;
    int rc = 0, n = 0;
    if (type && !strcasecmp(type, "PEM")) {
        if (key_of(tb, "ssl.truststore.password"))
            return fail(tb, "SSL trust store password cannot be specified for PEM format.%s", NULL);
        BIO *in = open_source(location, inline_certs);
        if (!in)
            return fail(tb, "cannot read truststore %s", location);
        for (X509 *x; rc == 0 && (x = PEM_read_bio_X509(in, NULL, NULL, NULL)); n++) {
            rc = trust_cert(tb, x);
            X509_free(x);
        }
        BIO_free(in);
        ERR_clear_error();
    } else if (!type || !strcasecmp(type, "PKCS12") || !strcasecmp(type, "JKS")) {
        if (!location)
            return fail(tb, "ssl.truststore.certificates needs ssl.truststore.type=PEM%s", NULL);
        EVP_PKEY *key = NULL;
        X509 *cert = NULL;
        STACK_OF(X509) *certs = NULL;
        if (load_pkcs12(tb, location, key_of(tb, "ssl.truststore.password"), &key, &cert,
                        &certs) < 0)
            return -1;
        if (cert && rc == 0 && ++n)
            rc = trust_cert(tb, cert);
        for (int i = 0; rc == 0 && certs && i < sk_X509_num(certs); i++, n++)
            rc = trust_cert(tb, sk_X509_value(certs, i));
        EVP_PKEY_free(key);
        X509_free(cert);
        sk_X509_pop_free(certs, X509_free);
    } else {
        return fail(tb, "ssl.truststore.type %s is not supported (PKCS12, PEM)", type);
    }
    if (rc == 0 && n == 0)
        return fail(tb, "the truststore %s holds no certificate", location ? location : "");
    return rc;
}

static int protocol_version(const char *name)
{
    static const struct { const char *name; int version; } v[] = {
        { "TLSv1", TLS1_VERSION }, { "TLSv1.1", TLS1_1_VERSION },
        { "TLSv1.2", TLS1_2_VERSION }, { "TLSv1.3", TLS1_3_VERSION },
    };
    for (size_t i = 0; i < ARRAY_SIZE(v); i++)
        if (!strcmp(name, v[i].name))
            return v[i].version;
    return -1;
}

/* ssl.enabled.protocols as the range from its oldest to its newest. */
static int set_protocols(tls_build_t *tb)
{
    const char *list = key_of(tb, "ssl.enabled.protocols");
    char *copy = xstrdup(list ? list : "TLSv1.2,TLSv1.3"), *save = NULL;
    int lo = 0, hi = 0, rc = 0;
    for (char *t = strtok_r(copy, ", ", &save); t && rc == 0; t = strtok_r(NULL, ", ", &save)) {
        int v = protocol_version(t);
        if (v < 0)
            rc = fail(tb, "ssl.enabled.protocols names an unknown protocol %s", t);
        lo = lo && lo < v ? lo : v;
        hi = hi > v ? hi : v;
    }
    free(copy);
    if (rc == 0 && (!lo || SSL_CTX_set_min_proto_version(tb->ctx, lo) != 1 ||
                    SSL_CTX_set_max_proto_version(tb->ctx, hi) != 1))
        rc = fail(tb, "cannot enable the protocols of ssl.enabled.protocols%s", NULL);
    return rc;
}

/* Appends OpenSSL's name of the cipher whose IANA (Java) name is java. */
static bool add_cipher(STACK_OF(SSL_CIPHER) *all, const char *java, char *tls12, char *tls13,
                       size_t len)
{
    for (int i = 0; i < sk_SSL_CIPHER_num(all); i++) {
        const SSL_CIPHER *c = sk_SSL_CIPHER_value(all, i);
        const char *std = SSL_CIPHER_standard_name(c);
        if (!std || strcmp(std, java))
            continue;
        bool v13 = SSL_CIPHER_get_protocol_id(c) >> 8 == 0x13;
        char *dst = v13 ? tls13 : tls12;
        snprintf(dst + strlen(dst), len - strlen(dst), "%s%s", *dst ? ":" : "",
                 v13 ? std : SSL_CIPHER_get_name(c));
        return true;
    }
    return false;
}

static int set_cipher_suites(tls_build_t *tb)
{
    const char *list = key_of(tb, "ssl.cipher.suites");
    if (!list || !*list)
        return 0;
    SSL_CTX *every = SSL_CTX_new(TLS_server_method());
    if (!every || SSL_CTX_set_cipher_list(every, "ALL:COMPLEMENTOFALL") != 1) {
        SSL_CTX_free(every);
        return fail(tb, "cannot list cipher suites%s", NULL);
    }
    STACK_OF(SSL_CIPHER) *all = SSL_CTX_get_ciphers(every);
    char tls12[4096] = "", tls13[1024] = "";
    char *copy = xstrdup(list), *save = NULL;
    int rc = 0;
    for (char *t = strtok_r(copy, ", ", &save); t && rc == 0; t = strtok_r(NULL, ", ", &save))
        if (!add_cipher(all, t, tls12, tls13, sizeof(tls13)))
            rc = fail(tb, "ssl.cipher.suites names an unknown cipher suite %s", t);
    free(copy);
    SSL_CTX_free(every);
    if (rc == 0 && (SSL_CTX_set_cipher_list(tb->ctx, *tls12 ? tls12 : "") != 1 && *tls12))
        rc = fail(tb, "cannot use the TLS 1.2 suites of ssl.cipher.suites%s", NULL);
    if (rc == 0 && SSL_CTX_set_ciphersuites(tb->ctx, tls13) != 1)
        rc = fail(tb, "cannot use the TLS 1.3 suites of ssl.cipher.suites%s", NULL);
    ERR_clear_error();
    return rc;
}

static int set_client_auth(tls_build_t *tb)
{
    const char *mode = key_of(tb, "ssl.client.auth");
    int verify;
    if (!mode || !strcasecmp(mode, "none"))
        verify = SSL_VERIFY_NONE;
    else if (!strcasecmp(mode, "requested"))
        verify = SSL_VERIFY_PEER;
    else if (!strcasecmp(mode, "required"))
        verify = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    else
        return fail(tb, "Invalid value %s for configuration ssl.client.auth", mode);
    SSL_CTX_set_verify(tb->ctx, verify, NULL);
    static const unsigned char sid[] = "samsa";
    SSL_CTX_set_session_id_context(tb->ctx, sid, sizeof(sid) - 1);
    return 0;
}

SSL_CTX *tls_server_context(const broker_config_t *cfg, const listener_t *l, char *err,
                            size_t errlen)
{
    return tls_server_context_with(cfg, l, NULL, NULL, err, errlen);
}

SSL_CTX *tls_server_context_with(const broker_config_t *cfg, const listener_t *l,
                                 tls_lookup_fn lookup, void *lookup_ctx, char *err, size_t errlen)
{
    tls_build_t tb = { .cfg = cfg, .l = l, .lookup = lookup, .lookup_ctx = lookup_ctx, .err = err,
                       .errlen = errlen };
    err[0] = '\0';
    tb.ctx = SSL_CTX_new(TLS_server_method());
    if (!tb.ctx) {
        fail(&tb, "cannot create a TLS context%s", NULL);
        return NULL;
    }
    /* Clients closing without close_notify (most do) end the stream
     * cleanly. */
    SSL_CTX_set_options(tb.ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_ENABLE_KTLS |
                                    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(tb.ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
    if (set_protocols(&tb) < 0 || set_cipher_suites(&tb) < 0 || load_keystore(&tb) < 0 ||
        load_truststore(&tb) < 0 || set_client_auth(&tb) < 0) {
        SSL_CTX_free(tb.ctx);
        return NULL;
    }
    return tb.ctx;
}

SSL_CTX *tls_client_context(const broker_config_t *cfg, const listener_t *l, char *err,
                            size_t errlen)
{
    tls_build_t tb = { .cfg = cfg, .l = l, .err = err, .errlen = errlen };
    err[0] = '\0';
    tb.ctx = SSL_CTX_new(TLS_client_method());
    if (!tb.ctx) {
        fail(&tb, "cannot create a TLS context%s", NULL);
        return NULL;
    }
    SSL_CTX_set_options(tb.ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(tb.ctx, SSL_MODE_AUTO_RETRY);
    /* The keystore is the client certificate, sent when the server asks;
     * without a truststore the system's trusted CAs check the server (as
     * the JVM's default truststore does). */
    bool has_keystore = key_of(&tb, "ssl.keystore.location") || key_of(&tb, "ssl.keystore.key");
    bool has_truststore = key_of(&tb, "ssl.truststore.location") ||
                          key_of(&tb, "ssl.truststore.certificates");
    if (set_protocols(&tb) < 0 || set_cipher_suites(&tb) < 0 ||
        (has_keystore && load_keystore(&tb) < 0) ||
        (has_truststore ? load_truststore(&tb) < 0
                        : SSL_CTX_set_default_verify_paths(tb.ctx) != 1 &&
                              fail(&tb, "cannot load the system's trusted certificates%s", NULL))) {
        SSL_CTX_free(tb.ctx);
        return NULL;
    }
    SSL_CTX_set_verify(tb.ctx, SSL_VERIFY_PEER, NULL);
    return tb.ctx;
}

/* The leaf certificate's subject (RFC 2253) and SAN extension, as text. */
static void identity(SSL_CTX *ctx, char *dn, size_t dnlen, char *san, size_t sanlen)
{
    X509 *x = SSL_CTX_get0_certificate(ctx);
    dn[0] = san[0] = '\0';
    if (!x)
        return;
    BIO *b = BIO_new(BIO_s_mem());
    if (b && X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253) >= 0) {
        int n = BIO_read(b, dn, (int)dnlen - 1);
        dn[n > 0 ? n : 0] = '\0';
    }
    BIO_free(b);
    GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    size_t len = 0;
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names); i++) {
        GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
        unsigned char *text = NULL;
        int n = g->type == GEN_DNS ? ASN1_STRING_to_UTF8(&text, g->d.dNSName)
                : g->type == GEN_IPADD ? ASN1_STRING_length(g->d.iPAddress) : -1;
        if (g->type == GEN_IPADD && n > 0) {
            char ip[64] = "";
            const unsigned char *a = ASN1_STRING_get0_data(g->d.iPAddress);
            if (n == 4)
                snprintf(ip, sizeof(ip), "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
            len += (size_t)snprintf(san + len, len < sanlen ? sanlen - len : 0, "%sIP:%s",
                                    len ? "," : "", ip);
        } else if (n > 0) {
            len += (size_t)snprintf(san + len, len < sanlen ? sanlen - len : 0, "%sDNS:%.*s",
                                    len ? "," : "", n, text);
        }
        OPENSSL_free(text);
    }
    GENERAL_NAMES_free(names);
}

bool tls_keystores_compatible(SSL_CTX *old, SSL_CTX *new, char *err, size_t errlen)
{
    char odn[512], osan[512], ndn[512], nsan[512];
    identity(old, odn, sizeof(odn), osan, sizeof(osan));
    identity(new, ndn, sizeof(ndn), nsan, sizeof(nsan));
    if (strcmp(odn, ndn)) {
        snprintf(err, errlen, "Keystore DistinguishedName does not match:  existing={DN=%s}, "
                 "new={DN=%s}", odn, ndn);
        return false;
    }
    if (strcmp(osan, nsan)) {
        snprintf(err, errlen, "Keystore SubjectAltNames do not match:  existing={SAN=%s}, "
                 "new={SAN=%s}", osan, nsan);
        return false;
    }
    return true;
}

char *tls_settings_fingerprint(const broker_config_t *cfg, const listener_t *l,
                               tls_lookup_fn lookup, void *lookup_ctx)
{
    tls_build_t tb = { .cfg = cfg, .l = l, .lookup = lookup, .lookup_ctx = lookup_ctx };
    kwriter_t w;
    kw_init(&w);
    for (size_t i = 0; i < ARRAY_SIZE(known_keys); i++) {
        const char *v = key_of(&tb, known_keys[i]);
        kw_raw(&w, v ? v : "-", v ? strlen(v) : 1);
        kw_raw(&w, "\n", 1);
        struct stat st;
        if (v && strstr(known_keys[i], ".location") && stat(v, &st) == 0) {
            char stamp[64];
            int n = snprintf(stamp, sizeof(stamp), "%lld.%ld %lld\n", (long long)st.st_mtim.tv_sec,
                             st.st_mtim.tv_nsec, (long long)st.st_size);
            kw_raw(&w, stamp, (size_t)n);
        }
    }
    kw_raw(&w, "", 1);
    char *s = w.err ? NULL : xstrdup((const char *)w.buf);
    kw_free(&w);
    return s;
}
