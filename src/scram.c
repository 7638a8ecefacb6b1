/*
 * scram.c - owns SCRAM credentials and their arithmetic (scram.h): Kafka's
 * credential text form, deriving a credential from a salted password,
 * HMAC/hash/PBKDF2 over OpenSSL, base64, and Kafka's sanitized entity
 * names.  No state; any thread.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scram.h"
#include "util.h"

scram_mech_t scram_mech_by_name(const char *name)
{
    if (name && !strcmp(name, "SCRAM-SHA-256"))
        return SCRAM_SHA_256;
    if (name && !strcmp(name, "SCRAM-SHA-512"))
        return SCRAM_SHA_512;
    return SCRAM_UNKNOWN;
}

const char *scram_mech_name(scram_mech_t m)
{
    return m == SCRAM_SHA_256 ? "SCRAM-SHA-256" : m == SCRAM_SHA_512 ? "SCRAM-SHA-512" : NULL;
}

size_t scram_key_len(scram_mech_t m)
{
    return m == SCRAM_SHA_256 ? 32 : m == SCRAM_SHA_512 ? 64 : 0;
}

static const EVP_MD *digest_of(scram_mech_t m)
{
    return m == SCRAM_SHA_256 ? EVP_sha256() : m == SCRAM_SHA_512 ? EVP_sha512() : NULL;
}

int scram_hmac(scram_mech_t m, const uint8_t *key, size_t key_len, const void *msg,
               size_t msg_len, uint8_t *out)
{
    const EVP_MD *md = digest_of(m);
    unsigned int len = 0;
    if (!md || !HMAC(md, key, (int)key_len, msg, msg_len, out, &len))
        return -1;
    return len == scram_key_len(m) ? 0 : -1;
}

int scram_hash(scram_mech_t m, const void *msg, size_t len, uint8_t *out)
{
    const EVP_MD *md = digest_of(m);
    unsigned int n = 0;
    if (!md || !EVP_Digest(msg, len, out, &n, md, NULL))
        return -1;
    return n == scram_key_len(m) ? 0 : -1;
}

int scram_salted_password(scram_mech_t m, const char *password, const uint8_t *salt,
                          size_t salt_len, int32_t iterations, uint8_t *out)
{
    const EVP_MD *md = digest_of(m);
    if (!md || iterations <= 0)
        return -1;
    return PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)salt_len, iterations,
                             md, (int)scram_key_len(m), out) == 1 ? 0 : -1;
}

int scram_credential_from_salted(scram_mech_t m, const uint8_t *salt, size_t salt_len,
                                 const uint8_t *salted, size_t salted_len, int32_t iterations,
                                 scram_credential_t *out)
{
    size_t kl = scram_key_len(m);
    if (!kl || salt_len > SCRAM_SALT_MAX || salted_len != kl || iterations <= 0)
        return -1;
    uint8_t client_key[SCRAM_KEY_MAX];
    memset(out, 0, sizeof(*out));
    if (scram_hmac(m, salted, salted_len, "Client Key", 10, client_key) < 0 ||
        scram_hash(m, client_key, kl, out->stored_key) < 0 ||
        scram_hmac(m, salted, salted_len, "Server Key", 10, out->server_key) < 0)
        return -1;
    memcpy(out->salt, salt, salt_len);
    out->salt_len = salt_len;
    out->key_len = kl;
    out->iterations = iterations;
    return 0;
}

/* ---- base64 ---- */

void scram_b64_encode(const uint8_t *in, size_t len, char *out)
{
    EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

static bool b64_char(char c)
{
    return isalnum((unsigned char)c) || c == '+' || c == '/';
}

int scram_b64_decode(const char *text, size_t len, uint8_t *out, size_t cap)
{
    if (len % 4)
        return -1;
    size_t pad = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '=' && i >= len - 2) {
            pad++;
        } else if (!b64_char(text[i]) || pad) {
            return -1;
        }
    }
    size_t n = len / 4 * 3;
    if (n - pad > cap)
        return -1;
    if (len == 0)
        return 0;
    unsigned char *tmp = xmalloc(n + 1);
    int got = EVP_DecodeBlock(tmp, (const unsigned char *)text, (int)len);
    int rc = got < 0 ? -1 : (int)(n - pad);
    if (rc >= 0)
        memcpy(out, tmp, (size_t)rc);
    free(tmp);
    return rc;
}

/* ---- Kafka's text form ---- */

/* The value of key= in a comma-separated list; NULL if absent. */
static const char *field(const char *text, const char *key, size_t *len)
{
    size_t kl = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
        if (!strncmp(p, key, kl) && p[kl] == '=') {
            const char *v = p + kl + 1, *end = strchr(v, ',');
            *len = end ? (size_t)(end - v) : strlen(v);
            return v;
        }
    }
    return NULL;
}

int scram_credential_parse(scram_mech_t m, const char *text, scram_credential_t *out)
{
    size_t kl = scram_key_len(m), n[4];
    const char *salt = field(text, "salt", &n[0]), *stored = field(text, "stored_key", &n[1]),
               *server = field(text, "server_key", &n[2]), *iter = field(text, "iterations", &n[3]);
    int commas = 0;
    for (const char *p = text; *p; p++)
        commas += *p == ',';
    if (!kl || !salt || !stored || !server || !iter || commas != 3 || n[3] == 0 || n[3] > 9)
        return -1;
    memset(out, 0, sizeof(*out));
    int sl = scram_b64_decode(salt, n[0], out->salt, sizeof(out->salt));
    if (sl < 0 || scram_b64_decode(stored, n[1], out->stored_key, kl) != (int)kl ||
        scram_b64_decode(server, n[2], out->server_key, kl) != (int)kl)
        return -1;
    int32_t it = 0;
    for (size_t i = 0; i < n[3]; i++) {
        if (!isdigit((unsigned char)iter[i]))
            return -1;
        it = it * 10 + (iter[i] - '0');
    }
    out->salt_len = (size_t)sl;
    out->key_len = kl;
    out->iterations = it;
    return 0;
}

char *scram_credential_format(const scram_credential_t *c)
{
    char salt[SCRAM_SALT_MAX * 2], stored[SCRAM_KEY_MAX * 2], server[SCRAM_KEY_MAX * 2];
    scram_b64_encode(c->salt, c->salt_len, salt);
    scram_b64_encode(c->stored_key, c->key_len, stored);
    scram_b64_encode(c->server_key, c->key_len, server);
    char *s = NULL;
    if (asprintf(&s, "salt=%s,stored_key=%s,server_key=%s,iterations=%d", salt, stored, server,
                 c->iterations) < 0)
        return NULL;
    return s;
}

/* ---- Kafka's Sanitizer ---- */

char *kafka_sanitize(const char *name)
{
    size_t len = strlen(name);
    char *out = xmalloc(len * 3 + 1), *o = out;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        /* java.net.URLEncoder keeps these; then '*' and ' ' are percent-encoded. */
        if (isalnum(*p) || *p == '.' || *p == '-' || *p == '_')
            *o++ = (char)*p;
        else
            o += sprintf(o, "%%%02X", *p);
    }
    *o = '\0';
    return out;
}

static int hex_value(char c)
{
    return isdigit((unsigned char)c) ? c - '0'
           : (c >= 'a' && c <= 'f') ? c - 'a' + 10
           : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
}

char *kafka_desanitize(const char *name)
{
    char *out = xmalloc(strlen(name) + 1), *o = out;
    for (const char *p = name; *p; p++) {
        if (*p == '+') {
            *o++ = ' ';
        } else if (*p == '%') {
            int hi = hex_value(p[1]), lo = hi < 0 ? -1 : hex_value(p[2]);
            if (hi < 0 || lo < 0) {
                free(out);
                return NULL;
            }
            *o++ = (char)(hi * 16 + lo);
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return out;
}
