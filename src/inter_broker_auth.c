/*
 * inter_broker_auth.c - owns the security of this broker's connections to
 * other brokers (inter_broker_auth.h): the client TLS context and SASL
 * credentials built from the inter-broker listener's keys.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inter_broker_auth.h"
#include "jaas.h"
#include "listeners.h"
#include "logging.h"
#include "scram.h"
#include "tls_context.h"
#include "util.h"

/* Written by the main thread before any connecting thread starts. */
static kclient_auth_t ib;
static bool ib_secured;
static char mechanism[32];
static char username[256];
static char password[256];

/* Guards last_failure (connecting threads). */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char last_failure[256];

typedef struct jaas_login {
    char *username, *password;
    size_t cap;
} jaas_login_t;

static int take_login(const char *key, size_t keylen, const char *value, void *arg)
{
    jaas_login_t *l = arg;
    if (keylen == 8 && !strncmp(key, "username", 8))
        snprintf(l->username, l->cap, "%s", value);
    else if (keylen == 8 && !strncmp(key, "password", 8))
        snprintf(l->password, l->cap, "%s", value);
    return 0;
}

static int sasl_login(const broker_config_t *cfg, const listener_t *l, char *err, size_t errlen)
{
    const char *m = config_get(cfg, "sasl.mechanism.inter.broker.protocol");
    snprintf(mechanism, sizeof(mechanism), "%s", m ? m : "GSSAPI");
    bool scram = scram_mech_by_name(mechanism) != SCRAM_UNKNOWN;
    if (!scram && strcmp(mechanism, "PLAIN")) {
        snprintf(err, errlen, "sasl.mechanism.inter.broker.protocol %s is not supported by samsa "
                 "(PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 are)", mechanism);
        return -1;
    }
    char key[96];
    snprintf(key, sizeof(key), "%s.sasl.jaas.config", mechanism);
    for (char *c = key; *c != '.'; c++)
        *c = (char)tolower((unsigned char)*c);
    const char *jaas = listener_config(cfg, l, key);
    if (!jaas) {
        snprintf(err, errlen, "listener.name.%s.%s is not set (a static JAAS file is not read)",
                 l->name, key);
        for (char *c = err + 14; *c && *c != '.'; c++)
            *c = (char)tolower((unsigned char)*c);
        return -1;
    }
    jaas_login_t login = { username, password, sizeof(username) };
    if (jaas_parse(jaas, scram ? JAAS_SCRAM_MODULE : JAAS_PLAIN_MODULE, take_login, &login, err,
                   errlen) < 0)
        return -1;
    if (!username[0] || !password[0]) {
        snprintf(err, errlen, "%s names no username and password for inter-broker connections",
                 key);
        return -1;
    }
    ib.sasl_mechanism = mechanism;
    ib.username = username;
    ib.password = password;
    return 0;
}

int ib_auth_init(const broker_config_t *cfg, char *err, size_t errlen)
{
    const listener_t *l = listeners_inter_broker(cfg);
    memset(&ib, 0, sizeof(ib));
    ib_secured = l->security_protocol != SECURITY_PLAINTEXT;
    if (security_protocol_tls(l->security_protocol)) {
        ib.tls = tls_client_context(cfg, l, err, errlen);
        if (!ib.tls)
            return -1;
        const char *alg = listener_config(cfg, l, "ssl.endpoint.identification.algorithm");
        ib.verify_hostname = !alg || !strcasecmp(alg, "https");
    }
    if (security_protocol_sasl(l->security_protocol) && sasl_login(cfg, l, err, errlen) < 0) {
        ib_auth_free();
        return -1;
    }
    if (ib_secured)
        log_info("network", "Brokers are reached over %s on listener %s%s%s%s",
                 security_protocol_name(l->security_protocol), l->name,
                 ib.sasl_mechanism ? " with SASL " : "", ib.sasl_mechanism ? mechanism : "",
                 ib.tls && !ib.verify_hostname ? " (host names not verified)" : "");
    return 0;
}

void ib_auth_free(void)
{
    SSL_CTX_free(ib.tls);
    OPENSSL_cleanse(password, sizeof(password));
    memset(&ib, 0, sizeof(ib));
    ib_secured = false;
}

/* @locality any connecting thread  @locks log_lock */
static void log_failure(const kclient_t *c, const char *host, int32_t port)
{
    pthread_mutex_lock(&log_lock);
    bool repeated = !strcmp(last_failure, c->error);
    snprintf(last_failure, sizeof(last_failure), "%s", c->error);
    pthread_mutex_unlock(&log_lock);
    if (!repeated)
        log_warn("network", "Cannot connect to broker %s:%d: %s", host, port, c->error);
}

int ib_connect(kclient_t *c, const char *client_id, const char *host, int32_t port,
               int timeout_ms)
{
    int rc = kclient_connect_secure(c, client_id, host, port, timeout_ms, ib_secured ? &ib : NULL);
    if (rc < 0 && c->error[0] && strncmp(c->error, "cannot connect", 14))
        log_failure(c, host, port);
    else if (rc == 0) {
        pthread_mutex_lock(&log_lock);
        last_failure[0] = '\0';
        pthread_mutex_unlock(&log_lock);
    }
    return rc;
}
