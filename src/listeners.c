/*
 * listeners.c - owns the listener configuration: parsing listeners and
 * advertised.listeners, mapping each name to its security protocol, the
 * inter-broker listener, and per-listener key lookup, with the checks and
 * messages of Kafka's KafkaConfig.  Main thread, at start-up.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "listeners.h"
#include "sasl_server.h"
#include "tls_context.h"
#include "util.h"

#define DEFAULT_PROTOCOL_MAP "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL"

static const char *const protocol_names[] = { "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL" };

const char *security_protocol_name(int16_t id)
{
    return id >= 0 && id < (int16_t)ARRAY_SIZE(protocol_names) ? protocol_names[id] : "UNKNOWN";
}

int16_t security_protocol_id(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(protocol_names); i++)
        if (!strcasecmp(name, protocol_names[i]))
            return (int16_t)i;
    return -1;
}

int config_parse_listeners(const char *s, listener_t *out, int max)
{
    int n = 0;
    char *copy = xstrdup(s);
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*tok))
            tok++;
        if (!*tok)
            continue;
        if (n == max)
            goto bad;
        char *sep = strstr(tok, "://");
        if (!sep)
            goto bad;
        *sep = '\0';
        listener_t *l = &out[n];
        memset(l, 0, sizeof(*l));
        snprintf(l->name, sizeof(l->name), "%s", tok);
        for (char *c = l->name; *c; c++)
            *c = (char)toupper((unsigned char)*c);
        char *hp = sep + 3;
        char *colon = strrchr(hp, ':');
        if (!colon)
            goto bad;
        *colon = '\0';
        if (hp[0] == '[') { /* [ipv6] */
            hp++;
            char *rb = strchr(hp, ']');
            if (rb)
                *rb = '\0';
        }
        snprintf(l->host, sizeof(l->host), "%s", hp);
        char *end;
        long port = strtol(colon + 1, &end, 10);
        if (*end || port < 0 || port > 65535)
            goto bad;
        l->port = (int)port;
        n++;
    }
    free(copy);
    return n;
bad:
    free(copy);
    return -1;
}

/* The protocol listener.security.protocol.map gives a name, -1 if none;
 * -2 if the map itself is malformed. */
static int16_t mapped_protocol(const char *map, const char *name)
{
    char *copy = xstrdup(map), *save = NULL;
    int16_t found = -1;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*tok))
            tok++;
        char *colon = strchr(tok, ':');
        if (!colon) {
            found = -2;
            break;
        }
        *colon = '\0';
        char *proto = colon + 1;
        while (isspace((unsigned char)*proto))
            proto++;
        for (char *e = proto + strlen(proto); e > proto && isspace((unsigned char)e[-1]);)
            *--e = '\0';
        int16_t id = security_protocol_id(proto);
        if (id < 0) {
            found = -2;
            break;
        }
        if (!strcasecmp(tok, name))
            found = id;
    }
    free(copy);
    return found;
}

static int assign_protocols(const char *map, listener_t *ls, int n)
{
    for (int i = 0; i < n; i++) {
        int16_t p = mapped_protocol(map, ls[i].name);
        if (p == -2) {
            fprintf(stderr, "samsad: Invalid value %s for configuration listener.security.protocol.map\n",
                    map);
            return -1;
        }
        if (p < 0) {
            fprintf(stderr, "samsad: No security protocol defined for listener %s\n", ls[i].name);
            return -1;
        }
        ls[i].security_protocol = p;
    }
    return 0;
}

static bool has_listener(const listener_t *ls, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(ls[i].name, name))
            return true;
    return false;
}

static int check_unique_names(const char *key, const listener_t *ls, int n)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(ls[i].name, ls[j].name)) {
                fprintf(stderr, "samsad: Each listener must have a different name, %s: %s\n", key,
                        ls[i].name);
                return -1;
            }
    return 0;
}

static int configure_inter_broker(broker_config_t *cfg)
{
    const char *name = config_get(cfg, "inter.broker.listener.name");
    const char *proto = config_get(cfg, "security.inter.broker.protocol");
    if (name && proto) {
        fprintf(stderr, "samsad: Only one of inter.broker.listener.name and "
                        "security.inter.broker.protocol should be set.\n");
        return -1;
    }
    if (proto && security_protocol_id(proto) < 0) {
        fprintf(stderr, "samsad: Invalid value %s for configuration security.inter.broker.protocol\n",
                proto);
        return -1;
    }
    snprintf(cfg->inter_broker_listener, sizeof(cfg->inter_broker_listener), "%s",
             name ? name : proto ? proto : "PLAINTEXT");
    for (char *c = cfg->inter_broker_listener; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    if (!has_listener(cfg->advertised, cfg->n_advertised, cfg->inter_broker_listener)) {
        char names[600] = "";
        for (int i = 0; i < cfg->n_advertised; i++)
            snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", i ? "," : "",
                     cfg->advertised[i].name);
        fprintf(stderr, "samsad: inter.broker.listener.name must be a listener name defined in "
                        "advertised.listeners. The valid options based on currently configured "
                        "listeners are %s\n", names);
        return -1;
    }
    return 0;
}

int listeners_configure(broker_config_t *cfg)
{
    const char *ls = config_get(cfg, "listeners");
    cfg->n_listeners = config_parse_listeners(ls ? ls : "PLAINTEXT://:9092", cfg->listeners,
                                              CONFIG_MAX_LISTENERS);
    if (cfg->n_listeners <= 0) {
        fprintf(stderr, "samsad: invalid listeners '%s' (expected NAME://host:port,...)\n", ls);
        return -1;
    }
    const char *al = config_get(cfg, "advertised.listeners");
    if (al) {
        cfg->n_advertised = config_parse_listeners(al, cfg->advertised, CONFIG_MAX_LISTENERS);
        if (cfg->n_advertised <= 0) {
            fprintf(stderr, "samsad: invalid advertised.listeners '%s'\n", al);
            return -1;
        }
    } else {
        memcpy(cfg->advertised, cfg->listeners, sizeof(cfg->listeners));
        cfg->n_advertised = cfg->n_listeners;
    }
    if (check_unique_names("listeners", cfg->listeners, cfg->n_listeners) < 0 ||
        check_unique_names("advertised.listeners", cfg->advertised, cfg->n_advertised) < 0)
        return -1;
    for (int i = 0; i < cfg->n_advertised; i++) {
        if (!has_listener(cfg->listeners, cfg->n_listeners, cfg->advertised[i].name)) {
            fprintf(stderr, "samsad: advertised.listeners listener names must be equal to or a "
                            "subset of the ones defined in listeners. Found %s.\n",
                    cfg->advertised[i].name);
            return -1;
        }
        if (!cfg->advertised[i].host[0])
            snprintf(cfg->advertised[i].host, sizeof(cfg->advertised[i].host), "localhost");
    }
    const char *map = config_get(cfg, "listener.security.protocol.map");
    if (!map)
        map = DEFAULT_PROTOCOL_MAP;
    if (assign_protocols(map, cfg->listeners, cfg->n_listeners) < 0 ||
        assign_protocols(map, cfg->advertised, cfg->n_advertised) < 0)
        return -1;
    return configure_inter_broker(cfg);
}

const char *listener_config(const broker_config_t *cfg, const listener_t *l, const char *key)
{
    char prefixed[256];
    int n = snprintf(prefixed, sizeof(prefixed), "listener.name.%s.%s", l->name, key);
    if (n > 0 && (size_t)n < sizeof(prefixed)) {
        /* Kafka lower-cases the listener name in the prefix. */
        for (char *c = prefixed + 14; *c && *c != '.'; c++)
            *c = (char)tolower((unsigned char)*c);
        const char *v = config_get(cfg, prefixed);
        if (v)
            return v;
    }
    return config_get(cfg, key);
}

const listener_t *listeners_inter_broker(const broker_config_t *cfg)
{
    for (int i = 0; i < cfg->n_advertised; i++)
        if (!strcmp(cfg->advertised[i].name, cfg->inter_broker_listener))
            return &cfg->advertised[i];
    return &cfg->advertised[0];
}

bool listeners_key_known(const char *key)
{
    static const char *const exact[] = {
        "listener.security.protocol.map", "inter.broker.listener.name",
        "security.inter.broker.protocol",
    };
    for (size_t i = 0; i < ARRAY_SIZE(exact); i++)
        if (!strcmp(key, exact[i]))
            return true;
    /* listener.name.<l>.<key>: as <key>. */
    if (!strncmp(key, "listener.name.", 14) && strchr(key + 14, '.'))
        key = strchr(key + 14, '.') + 1;
    return tls_key_known(key) || sasl_key_known(key) || !strcmp(key, "connections.max.idle.ms") ||
           !strcmp(key, "max.connections");
}
