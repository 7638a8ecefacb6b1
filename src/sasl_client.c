/*
 * sasl_client.c - owns the client side of SASL/PLAIN and SCRAM exchanges
 * (sasl_client.h): PLAIN's single token, and SCRAM's client-first
 * ("n,,n=<name>,r=<nonce>"), client-final with its proof, and the check
 * of the server's signature, as Kafka's ScramSaslClient does.
 */
#define _GNU_SOURCE
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sasl_client.h"
#include "scram.h"
#include "util.h"

#define MSG_MAX 1024
#define NONCE_LEN 32

struct sasl_client {
    scram_mech_t mech;              /* SCRAM_UNKNOWN: PLAIN */
    enum { SEND_FIRST, AWAIT_SERVER_FIRST, AWAIT_SERVER_FINAL, DONE } state;
    char user[256];
    char password[256];
    char nonce[NONCE_LEN + 1];
    char client_first_bare[MSG_MAX];
    char auth_message[3 * MSG_MAX];
    uint8_t server_key[SCRAM_KEY_MAX];
};

sasl_client_t *sasl_client_new(const char *mechanism, const char *user, const char *password)
{
    scram_mech_t m = scram_mech_by_name(mechanism);
    if (m == SCRAM_UNKNOWN && strcmp(mechanism, "PLAIN"))
        return NULL;
    sasl_client_t *x = xcalloc(1, sizeof(*x));
    x->mech = m;
    snprintf(x->user, sizeof(x->user), "%s", user);
    snprintf(x->password, sizeof(x->password), "%s", password);
    return x;
}

void sasl_client_free(sasl_client_t *x)
{
    if (!x)
        return;
    OPENSSL_cleanse(x, sizeof(*x));
    free(x);
}

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int put(uint8_t *out, size_t *out_len, const char *text, size_t n)
{
    if (n > *out_len)
        return -1;
    memcpy(out, text, n);
    *out_len = n;
    return 1;
}

/* A saslname: ',' as =2C and '=' as =3D. */
static void encode_saslname(const char *name, char *out, size_t cap)
{
    size_t n = 0;
    for (; *name && n + 4 < cap; name++) {
        if (*name == ',' || *name == '=') {
            memcpy(out + n, *name == ',' ? "=2C" : "=3D", 3);
            n += 3;
        } else {
            out[n++] = *name;
        }
    }
    out[n] = '\0';
}

static int client_first(sasl_client_t *x, uint8_t *out, size_t *out_len, char *err,
                        size_t errlen)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    uint8_t raw[NONCE_LEN];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return fail(err, errlen, "no random bytes for a SCRAM nonce");
    for (int i = 0; i < NONCE_LEN; i++)
        x->nonce[i] = alphabet[raw[i] % 36];
    x->nonce[NONCE_LEN] = '\0';
    char name[768];
    encode_saslname(x->user, name, sizeof(name));
    snprintf(x->client_first_bare, sizeof(x->client_first_bare), "n=%s,r=%s", name, x->nonce);
    char msg[MSG_MAX + 8];
    int n = snprintf(msg, sizeof(msg), "n,,%s", x->client_first_bare);
    x->state = AWAIT_SERVER_FIRST;
    return put(out, out_len, msg, (size_t)n) < 0 ? fail(err, errlen, "SCRAM message too long")
                                                 : 1;
}

/* The value of attribute a ("r=", "s=", "i=") in a server message. */
static const char *attribute(const char *msg, const char *a, size_t *len)
{
    for (const char *p = msg; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
        if (!strncmp(p, a, 2)) {
            const char *end = strchr(p, ',');
            *len = end ? (size_t)(end - p - 2) : strlen(p + 2);
            return p + 2;
        }
    }
    return NULL;
}

/* server-first "r=<nonce>,s=<salt>,i=<n>" -> client-final with the proof. */
static int client_final(sasl_client_t *x, const char *server_first, uint8_t *out,
                        size_t *out_len, char *err, size_t errlen)
{
    size_t rl, sl, il;
    const char *r = attribute(server_first, "r=", &rl), *s = attribute(server_first, "s=", &sl);
    const char *i = attribute(server_first, "i=", &il);
    if (!r || !s || !i || rl >= MSG_MAX || il > 9)
        return fail(err, errlen, "Invalid SCRAM server first message");
    if (rl <= NONCE_LEN || strncmp(r, x->nonce, NONCE_LEN))
        return fail(err, errlen, "Invalid server nonce: does not start with client nonce");
    int iterations = atoi(i);
    if (iterations < SCRAM_MIN_ITERATIONS)
        return fail(err, errlen, "Requested iterations %d is less than the minimum %d",
                    iterations, SCRAM_MIN_ITERATIONS);
    uint8_t salt[SCRAM_SALT_MAX], salted[SCRAM_KEY_MAX], client_key[SCRAM_KEY_MAX];
    uint8_t stored[SCRAM_KEY_MAX], sig[SCRAM_KEY_MAX], proof[SCRAM_KEY_MAX];
    int salt_len = scram_b64_decode(s, sl, salt, sizeof(salt));
    size_t kl = scram_key_len(x->mech);
    char without_proof[MSG_MAX + 16];
    snprintf(without_proof, sizeof(without_proof), "c=biws,r=%.*s", (int)rl, r);
    int an = snprintf(x->auth_message, sizeof(x->auth_message), "%s,%s,%s",
                      x->client_first_bare, server_first, without_proof);
    if (salt_len < 0 || an < 0 || (size_t)an >= sizeof(x->auth_message) ||
        scram_salted_password(x->mech, x->password, salt, (size_t)salt_len, iterations,
                              salted) < 0 ||
        scram_hmac(x->mech, salted, kl, "Client Key", 10, client_key) < 0 ||
        scram_hash(x->mech, client_key, kl, stored) < 0 ||
        scram_hmac(x->mech, stored, kl, x->auth_message, (size_t)an, sig) < 0 ||
        scram_hmac(x->mech, salted, kl, "Server Key", 10, x->server_key) < 0)
        return fail(err, errlen, "Invalid SCRAM server first message");
    for (size_t k = 0; k < kl; k++)
        proof[k] = client_key[k] ^ sig[k];
    char b64[SCRAM_KEY_MAX * 2], msg[2 * MSG_MAX];
    scram_b64_encode(proof, kl, b64);
    int n = snprintf(msg, sizeof(msg), "%s,p=%s", without_proof, b64);
    OPENSSL_cleanse(salted, sizeof(salted));
    OPENSSL_cleanse(client_key, sizeof(client_key));
    x->state = AWAIT_SERVER_FINAL;
    return put(out, out_len, msg, (size_t)n) < 0 ? fail(err, errlen, "SCRAM message too long")
                                                 : 1;
}

/* server-final "v=<signature>" (or "e=<error>"). */
static int server_final(sasl_client_t *x, const char *msg, char *err, size_t errlen)
{
    size_t len;
    const char *e = attribute(msg, "e=", &len);
    if (e)
        return fail(err, errlen, "Sasl authentication using %s failed with error: %.*s",
                    scram_mech_name(x->mech), (int)len, e);
    const char *v = attribute(msg, "v=", &len);
    uint8_t given[SCRAM_KEY_MAX], expected[SCRAM_KEY_MAX];
    size_t kl = scram_key_len(x->mech);
    if (!v || scram_b64_decode(v, len, given, sizeof(given)) != (int)kl ||
        scram_hmac(x->mech, x->server_key, kl, x->auth_message, strlen(x->auth_message),
                   expected) < 0 ||
        CRYPTO_memcmp(given, expected, kl) != 0)
        return fail(err, errlen, "Invalid server signature in server final message");
    x->state = DONE;
    return 0;
}

int sasl_client_step(sasl_client_t *x, const uint8_t *in, size_t in_len, uint8_t *out,
                     size_t *out_len, char *err, size_t errlen)
{
    char text[MSG_MAX];
    if (in_len >= sizeof(text))
        return fail(err, errlen, "SASL server message too long (%zu bytes)", in_len);
    if (in_len)
        memcpy(text, in, in_len);
    text[in_len] = '\0';
    if (x->mech == SCRAM_UNKNOWN) {     /* PLAIN: authzid NUL authcid NUL password */
        if (x->state != SEND_FIRST)
            return 0;
        char token[520];
        size_t ul = strlen(x->user), pl = strlen(x->password);
        token[0] = '\0';
        memcpy(token + 1, x->user, ul);
        token[1 + ul] = '\0';
        memcpy(token + 2 + ul, x->password, pl);
        x->state = DONE;
        int rc = put(out, out_len, token, 2 + ul + pl);
        OPENSSL_cleanse(token, sizeof(token));
        return rc;
    }
    switch (x->state) {
    case SEND_FIRST:
        return client_first(x, out, out_len, err, errlen);
    case AWAIT_SERVER_FIRST:
        return client_final(x, text, out, out_len, err, errlen);
    case AWAIT_SERVER_FINAL:
        return server_final(x, text, err, errlen);
    default:
        return 0;
    }
}
