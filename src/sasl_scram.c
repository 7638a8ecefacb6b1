/*
 * sasl_scram.c - owns the server side of a SASL/SCRAM exchange as Kafka's
 * ScramSaslServer runs it: the client-first message ("n,[a=authzid],
 * n=<name>,r=<nonce>[,ext]"), the server-first ("r=<nonce+ours>,s=<salt>,
 * i=<n>"), the client-final ("c=<b64>,r=<nonce>,p=<proof>") checked
 * against the stored key, and the server-final ("v=<signature>").
 * Credentials come from scram_store.h.  Failures carry Kafka's messages;
 * only the authorization-id one reaches the client, as in Kafka (the rest
 * get the generic "invalid credentials" answer).  Event-loop thread.
 */
#define _GNU_SOURCE
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sasl_scram.h"
#include "scram_store.h"
#include "util.h"

#define NONCE_LEN 32
#define MSG_MAX 1024

struct scram_exchange {
    scram_mech_t mech;
    enum { AWAIT_FIRST, AWAIT_FINAL, COMPLETE, FAILED } state;
    char user[256];
    char client_first_bare[MSG_MAX];
    char server_first[MSG_MAX];
    char nonce[MSG_MAX];        /* client's + ours */
    scram_credential_t cred;
};

scram_exchange_t *scram_exchange_new(scram_mech_t m)
{
    scram_exchange_t *x = xcalloc(1, sizeof(*x));
    x->mech = m;
    return x;
}

void scram_exchange_free(scram_exchange_t *x)
{
    if (!x)
        return;
    OPENSSL_cleanse(x, sizeof(*x));
    free(x);
}

const char *scram_exchange_user(const scram_exchange_t *x)
{
    return x->user;
}

/* A saslname (RFC 5802): no ',' and '=' only as =2C or =3D; decoded. */
static bool decode_saslname(const char *s, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '=') {
            if (i + 2 >= len)
                return false;
            if (!strncmp(s + i, "=2C", 3))
                c = ',';
            else if (!strncmp(s + i, "=3D", 3))
                c = '=';
            else
                return false;
            i += 2;
        } else if (c == ',' || (unsigned char)c == 0 || (unsigned char)c > 0x7f) {
            return false;
        }
        if (n + 1 >= cap)
            return false;
        out[n++] = c;
    }
    out[n] = '\0';
    return true;
}

/* Printable ASCII without ',' (a nonce). */
static bool printable(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] < 0x21 || s[i] > 0x7e || s[i] == ',')
            return false;
    return len > 0;
}

static bool random_nonce(char *out)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    uint8_t raw[NONCE_LEN];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return false;
    for (int i = 0; i < NONCE_LEN; i++)
        out[i] = alphabet[raw[i] % 36];
    out[NONCE_LEN] = '\0';
    return true;
}

__attribute__((format(printf, 4, 5)))
static scram_step_t fail(scram_exchange_t *x, char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    x->state = FAILED;
    OPENSSL_cleanse(&x->cred, sizeof(x->cred));
    return SCRAM_FAILED;
}

static scram_step_t client_first(scram_exchange_t *x, const char *msg, size_t len, char *out,
                                 size_t *outlen, char *why, size_t whylen, bool *tell)
{
    /* gs2 header: "n," then an optional "a=<authzid>", then ",". */
    char authzid[256] = "";
    const char *p = msg, *end = msg + len;
    if (len < 2 || strncmp(p, "n,", 2))
        goto bad;
    p += 2;
    const char *comma = memchr(p, ',', (size_t)(end - p));
    if (!comma)
        goto bad;
    if (comma > p && (strncmp(p, "a=", 2) || !decode_saslname(p + 2, (size_t)(comma - p - 2),
                                                              authzid, sizeof(authzid))))
        goto bad;
    const char *bare = comma + 1;
    if ((size_t)(end - bare) >= MSG_MAX)
        goto bad;
    memcpy(x->client_first_bare, bare, (size_t)(end - bare));
    x->client_first_bare[end - bare] = '\0';
    /* [m=...,]n=<saslname>,r=<nonce>[,<ext>=<value>]* */
    char *b = x->client_first_bare;
    if (!strncmp(b, "m=", 2) && strchr(b, ','))
        b = strchr(b, ',') + 1;
    if (strncmp(b, "n=", 2))
        goto bad;
    char *name_end = strchr(b, ',');
    if (!name_end || strncmp(name_end, ",r=", 3) ||
        !decode_saslname(b + 2, (size_t)(name_end - b - 2), x->user, sizeof(x->user)))
        goto bad;
    const char *nonce = name_end + 3, *nonce_end = strchr(nonce, ',');
    size_t nonce_len = nonce_end ? (size_t)(nonce_end - nonce) : strlen(nonce);
    if (!printable(nonce, nonce_len) || nonce_len + NONCE_LEN >= sizeof(x->nonce))
        goto bad;
    if (nonce_end && strstr(nonce_end, ",tokenauth=true"))
        return fail(x, why, whylen, "Token Authentication failed: Invalid tokenId : %s",
                    x->user);
    const scram_credential_t *c = scram_store_find(x->user, x->mech);
    if (!c)
        return fail(x, why, whylen, "Authentication failed: Invalid user credentials");
    if (authzid[0] && strcmp(authzid, x->user)) {
        *tell = true;       /* Kafka's SaslAuthenticationException: the client sees it */
        return fail(x, why, whylen, "%s", "Authentication failed: Client requested an "
                    "authorization id that is different from username");
    }
    if (c->iterations < SCRAM_MIN_ITERATIONS)
        return fail(x, why, whylen, "Iterations %d is less than the minimum %d for %s",
                    c->iterations, SCRAM_MIN_ITERATIONS, scram_mech_name(x->mech));
    x->cred = *c;
    memcpy(x->nonce, nonce, nonce_len);
    if (!random_nonce(x->nonce + nonce_len))
        return fail(x, why, whylen, "Authentication failed: no random bytes for a nonce");
    char salt[SCRAM_SALT_MAX * 2];
    scram_b64_encode(c->salt, c->salt_len, salt);
    int n = snprintf(x->server_first, sizeof(x->server_first), "r=%s,s=%s,i=%d", x->nonce, salt,
                     c->iterations);
    if (n < 0 || (size_t)n >= sizeof(x->server_first) || (size_t)n > *outlen)
        goto bad;
    memcpy(out, x->server_first, (size_t)n);
    *outlen = (size_t)n;
    x->state = AWAIT_FINAL;
    return SCRAM_CONTINUE;
bad:
    {
        char shown[128];
        snprintf(shown, sizeof(shown), "%.*s", (int)MIN(len, 100), msg);
        return fail(x, why, whylen, "Invalid SCRAM client first message format: %s", shown);
    }
}

static scram_step_t client_final(scram_exchange_t *x, const char *msg, size_t len, char *out,
                                 size_t *outlen, char *why, size_t whylen, bool *tell)
{
    /* c=<b64>,r=<nonce>[,ext]*,p=<b64 proof>; the auth message uses it
     * without ",p=...". */
    char text[MSG_MAX];
    if (len >= sizeof(text))
        goto bad;
    memcpy(text, msg, len);
    text[len] = '\0';
    char *proof = strstr(text, ",p=");
    if (strncmp(text, "c=", 2) || !proof)
        goto bad;
    *proof = '\0';
    const char *b64proof = proof + 3;
    char *r = strstr(text, ",r=");
    if (!r)
        goto bad;
    const char *nonce = r + 3, *nonce_end = strchr(nonce, ',');
    size_t nonce_len = nonce_end ? (size_t)(nonce_end - nonce) : strlen(nonce);
    size_t ours = strlen(x->nonce);
    if (nonce_len < ours || memcmp(nonce + nonce_len - ours, x->nonce, ours))
        return fail(x, why, whylen, "Invalid client nonce in the final client message.");
    uint8_t channel[MSG_MAX], given[SCRAM_KEY_MAX];
    size_t kl = x->cred.key_len;
    if (scram_b64_decode(text + 2, (size_t)(r - text - 2), channel, sizeof(channel)) < 0 ||
        scram_b64_decode(b64proof, strlen(b64proof), given, sizeof(given)) != (int)kl)
        goto bad;
    char auth[3 * MSG_MAX + 4];
    int an = snprintf(auth, sizeof(auth), "%s,%s,%s", x->client_first_bare, x->server_first, text);
    uint8_t sig[SCRAM_KEY_MAX], client_key[SCRAM_KEY_MAX], stored[SCRAM_KEY_MAX];
    if (an < 0 || scram_hmac(x->mech, x->cred.stored_key, kl, auth, (size_t)an, sig) < 0)
        goto bad;
    for (size_t i = 0; i < kl; i++)
        client_key[i] = given[i] ^ sig[i];
    if (scram_hash(x->mech, client_key, kl, stored) < 0 ||
        CRYPTO_memcmp(stored, x->cred.stored_key, kl) != 0)
        return fail(x, why, whylen, "Invalid client credentials");
    uint8_t server_sig[SCRAM_KEY_MAX];
    char b64[SCRAM_KEY_MAX * 2];
    if (scram_hmac(x->mech, x->cred.server_key, kl, auth, (size_t)an, server_sig) < 0)
        goto bad;
    scram_b64_encode(server_sig, kl, b64);
    int n = snprintf(out, *outlen, "v=%s", b64);
    if (n < 0 || (size_t)n >= *outlen)
        goto bad;
    *outlen = (size_t)n;
    OPENSSL_cleanse(&x->cred, sizeof(x->cred));
    x->state = COMPLETE;
    return SCRAM_COMPLETE;
bad:
    return fail(x, why, whylen, "Invalid SCRAM client final message format");
}

scram_step_t scram_exchange_step(scram_exchange_t *x, const uint8_t *in, size_t len, char *out,
                                 size_t *outlen, char *why, size_t whylen, bool *tell_client)
{
    *tell_client = false;
    const char *msg = (const char *)in;
    if (memchr(in, 0, len))
        return fail(x, why, whylen, "Invalid SCRAM message: contains NUL");
    switch (x->state) {
    case AWAIT_FIRST:
        return client_first(x, msg, len, out, outlen, why, whylen, tell_client);
    case AWAIT_FINAL:
        return client_final(x, msg, len, out, outlen, why, whylen, tell_client);
    default:
        return fail(x, why, whylen, "Unexpected challenge in Sasl server state %s",
                    x->state == COMPLETE ? "COMPLETE" : "FAILED");
    }
}
