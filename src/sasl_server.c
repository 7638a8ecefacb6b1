/*
 * sasl_server.c - owns a SASL listener's mechanisms and credentials: the
 * sasl.enabled.mechanisms list, the PlainLoginModule JAAS entry's users,
 * checking a SASL/PLAIN exchange as Kafka's PlainSaslServer does, with
 * its messages, and running a connection's exchange with the mechanism it
 * chose (SCRAM in sasl_scram.c).  Main thread builds listeners; the loop
 * reads them and owns exchanges.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jaas.h"
#include "listeners.h"
#include "sasl_scram.h"
#include "sasl_server.h"
#include "util.h"

#define MAX_MECHANISMS 8

typedef struct plain_user {
    char *name;
    char *password;
} plain_user_t;

struct sasl_listener {
    char *mechanisms[MAX_MECHANISMS];
    int64_t reauth_ms[MAX_MECHANISMS];  /* connections.max.reauth.ms per mechanism; 0: off */
    int n_mechanisms;
    plain_user_t *users;
    int n_users;
};

bool sasl_key_known(const char *key)
{
    if (!strcmp(key, "sasl.enabled.mechanisms") || !strcmp(key, "sasl.mechanism.inter.broker.protocol") ||
        !strcmp(key, "connections.max.reauth.ms"))
        return true;
    /* <mechanism>.sasl.jaas.config, <mechanism>.connections.max.reauth.ms */
    const char *dot = strchr(key, '.');
    return dot && (!strcmp(dot + 1, "sasl.jaas.config") ||
                   !strcmp(dot + 1, "connections.max.reauth.ms"));
}

/* A user_<name>="<password>" option of the PlainLoginModule entry. */
static int add_plain_user(const char *key, size_t keylen, const char *value, void *arg)
{
    sasl_listener_t *s = arg;
    if (keylen <= 5 || strncmp(key, "user_", 5))
        return 0;
    plain_user_t *u = realloc(s->users, sizeof(*u) * (size_t)(s->n_users + 1));
    if (!u)
        return 1;
    s->users = u;
    u[s->n_users].name = xstrndup(key + 5, keylen - 5);
    u[s->n_users].password = xstrdup(value);
    s->n_users++;
    return 0;
}

/* "LoginModule flag key="value" ...;": the user_<name> options. */
static int parse_plain_jaas(sasl_listener_t *s, const char *jaas, char *err, size_t errlen)
{
    int rc = jaas_parse(jaas, JAAS_PLAIN_MODULE, add_plain_user, s, err, errlen);
    if (rc > 0)
        snprintf(err, errlen, "out of memory reading plain.sasl.jaas.config");
    return rc == 0 ? 0 : -1;
}

static int add_mechanisms(sasl_listener_t *s, const char *list, char *err, size_t errlen)
{
    char *copy = xstrdup(list), *save = NULL;
    int rc = 0;
    for (char *t = strtok_r(copy, ", ", &save); t && rc == 0; t = strtok_r(NULL, ", ", &save)) {
        if (strcmp(t, "PLAIN") && scram_mech_by_name(t) == SCRAM_UNKNOWN) {
            snprintf(err, errlen, "SASL mechanism %s is not supported by samsa yet (PLAIN, "
                     "SCRAM-SHA-256 and SCRAM-SHA-512 are)", t);
            rc = -1;
        } else if (s->n_mechanisms < MAX_MECHANISMS) {
            s->mechanisms[s->n_mechanisms++] = xstrdup(t);
        }
    }
    free(copy);
    if (rc == 0 && s->n_mechanisms == 0) {
        snprintf(err, errlen, "sasl.enabled.mechanisms is empty");
        rc = -1;
    }
    return rc;
}

sasl_listener_t *sasl_listener_new(const broker_config_t *cfg, const listener_t *l, char *err,
                                   size_t errlen)
{
    sasl_listener_t *s = xcalloc(1, sizeof(*s));
    const char *mechs = listener_config(cfg, l, "sasl.enabled.mechanisms");
    if (add_mechanisms(s, mechs ? mechs : "GSSAPI", err, errlen) < 0)
        goto fail;
    for (int i = 0; i < s->n_mechanisms; i++) {
        /* listener.name.<l>.<mechanism>.connections.max.reauth.ms, then
         * connections.max.reauth.ms, as Kafka's valuesWithPrefixOverride. */
        char key[96];
        snprintf(key, sizeof(key), "%s.connections.max.reauth.ms", s->mechanisms[i]);
        for (char *c = key; *c != '.'; c++)
            *c = (char)tolower((unsigned char)*c);
        const char *v = listener_config(cfg, l, key);
        if (!v)
            v = config_get(cfg, "connections.max.reauth.ms");
        char *end = NULL;
        s->reauth_ms[i] = v ? strtoll(v, &end, 10) : 0;
        if (v && (*end || s->reauth_ms[i] < 0)) {
            snprintf(err, errlen, "Invalid value %s for configuration connections.max.reauth.ms",
                     v);
            goto fail;
        }
    }
    if (sasl_mechanism_enabled(s, "PLAIN")) {
        const char *jaas = listener_config(cfg, l, "plain.sasl.jaas.config");
        if (!jaas) {
            snprintf(err, errlen, "listener.name.%s.plain.sasl.jaas.config is not set (a static "
                     "JAAS file is not read)", l->name);
            goto fail;
        }
        if (parse_plain_jaas(s, jaas, err, errlen) < 0)
            goto fail;
    }
    return s;
fail:
    sasl_listener_free(s);
    return NULL;
}

void sasl_listener_free(sasl_listener_t *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n_mechanisms; i++)
        free(s->mechanisms[i]);
    for (int i = 0; i < s->n_users; i++) {
        free(s->users[i].name);
        OPENSSL_cleanse(s->users[i].password, strlen(s->users[i].password));
        free(s->users[i].password);
    }
    free(s->users);
    free(s);
}

int sasl_mechanism_count(const sasl_listener_t *s)
{
    return s->n_mechanisms;
}

const char *sasl_mechanism(const sasl_listener_t *s, int i)
{
    return s->mechanisms[i];
}

int64_t sasl_reauth_ms(const sasl_listener_t *s, const char *mechanism)
{
    for (int i = 0; i < s->n_mechanisms; i++)
        if (!strcmp(s->mechanisms[i], mechanism))
            return s->reauth_ms[i];
    return 0;
}

bool sasl_mechanism_enabled(const sasl_listener_t *s, const char *mechanism)
{
    for (int i = 0; i < s->n_mechanisms; i++)
        if (!strcmp(s->mechanisms[i], mechanism))
            return true;
    return false;
}

/* Constant-time for equal lengths, so timing does not reveal a prefix. */
static bool password_equal(const char *expected, const unsigned char *given, size_t len)
{
    return strlen(expected) == len && CRYPTO_memcmp(expected, given, len) == 0;
}

int sasl_plain_authenticate(const sasl_listener_t *s, const unsigned char *token, size_t len,
                            char *user, size_t userlen, char *why, size_t whylen)
{
    /* Kafka's PlainSaslServer: exactly three NUL-separated tokens. */
    const unsigned char *part[3];
    size_t plen[3];
    int n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || token[i] == 0) {
            if (n < 3) {
                part[n] = token + start;
                plen[n] = i - start;
            }
            n++;
            start = i + 1;
        }
    }
    if (n != 3) {
        snprintf(why, whylen, "Invalid SASL/PLAIN response: expected 3 tokens, got %d", n);
        return -1;
    }
    if (plen[1] == 0) {
        snprintf(why, whylen, "Authentication failed: username not specified");
        return -1;
    }
    if (plen[2] == 0) {
        snprintf(why, whylen, "Authentication failed: password not specified");
        return -1;
    }
    if (plen[0] && (plen[0] != plen[1] || memcmp(part[0], part[1], plen[1]))) {
        snprintf(why, whylen, "Authentication failed: Client requested an authorization id that "
                              "is different from username");
        return -1;
    }
    for (int i = 0; i < s->n_users; i++) {
        const plain_user_t *u = &s->users[i];
        if (strlen(u->name) == plen[1] && !memcmp(u->name, part[1], plen[1]) &&
            password_equal(u->password, part[2], plen[2])) {
            snprintf(user, userlen, "%.*s", (int)plen[1], (const char *)part[1]);
            return 0;
        }
    }
    snprintf(why, whylen, "Authentication failed: Invalid username or password");
    return -1;
}

/* ---- a connection's exchange ---- */

struct sasl_exchange {
    const sasl_listener_t *listener;
    char mechanism[32];
    scram_exchange_t *scram;    /* SCRAM-SHA-*; NULL for PLAIN */
};

sasl_exchange_t *sasl_exchange_new(const sasl_listener_t *s, const char *mechanism)
{
    if (!sasl_mechanism_enabled(s, mechanism))
        return NULL;
    sasl_exchange_t *x = xcalloc(1, sizeof(*x));
    x->listener = s;
    snprintf(x->mechanism, sizeof(x->mechanism), "%s", mechanism);
    scram_mech_t m = scram_mech_by_name(mechanism);
    if (m != SCRAM_UNKNOWN)
        x->scram = scram_exchange_new(m);
    return x;
}

void sasl_exchange_free(sasl_exchange_t *x)
{
    if (!x)
        return;
    scram_exchange_free(x->scram);
    free(x);
}

const char *sasl_exchange_mechanism(const sasl_exchange_t *x)
{
    return x->mechanism;
}

sasl_result_t sasl_exchange_step(sasl_exchange_t *x, const uint8_t *token, size_t len,
                                 sasl_outcome_t *out)
{
    out->token_len = 0;
    out->session_lifetime_ms = 0;
    if (!x->scram) {
        /* PlainSaslServer's failures are SaslAuthenticationExceptions:
         * the client sees the reason. */
        if (sasl_plain_authenticate(x->listener, token, len, out->user, sizeof(out->user),
                                    out->why, sizeof(out->why)) < 0) {
            snprintf(out->client_message, sizeof(out->client_message), "%s", out->why);
            return SASL_FAILED;
        }
        return SASL_COMPLETE;
    }
    bool tell = false;
    size_t n = sizeof(out->token);
    scram_step_t r = scram_exchange_step(x->scram, token, len, out->token, &n, out->why,
                                         sizeof(out->why), &tell);
    if (r == SCRAM_FAILED) {
        if (tell)
            snprintf(out->client_message, sizeof(out->client_message), "%s", out->why);
        else
            snprintf(out->client_message, sizeof(out->client_message), "Authentication failed "
                     "during authentication due to invalid credentials with SASL mechanism %s",
                     x->mechanism);
        return SASL_FAILED;
    }
    out->token_len = n;
    if (r == SCRAM_COMPLETE)
        snprintf(out->user, sizeof(out->user), "%s", scram_exchange_user(x->scram));
    return r == SCRAM_COMPLETE ? SASL_COMPLETE : SASL_CONTINUE;
}
