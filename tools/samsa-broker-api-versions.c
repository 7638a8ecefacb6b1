/*
 * samsa-broker-api-versions - kafka-broker-api-versions.sh for samsa: asks
 * every broker of the cluster for its API versions and prints them as
 * Kafka 3.9's BrokerApiVersionsCommand does, beside the versions a Kafka
 * 3.9 client would use ("[usable: N]") and the client APIs the broker
 * lacks ("UNSUPPORTED").
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_keys.h"
#include "proto_messages.h"
#include "tool_common.h"

#define PROG "samsa-broker-api-versions"

enum { OPT_BOOTSTRAP = 1000, OPT_COMMAND_CONFIG, OPT_HELP };

static const kafka_api_key_t *known_key(int16_t id)
{
    for (int i = 0; i < kafka_api_key_count; i++)
        if (kafka_api_keys[i].id == id)
            return &kafka_api_keys[i];
    return NULL;
}

/* Kafka's NodeApiVersions.apiVersionToText. */
static void print_version(const kclient_t *c, int16_t id)
{
    const kafka_api_key_t *k = known_key(id);
    int16_t lo = c->api_min[id], hi = c->api_max[id];
    if (k)
        printf("%s(%d): ", k->name, id);
    else
        printf("UNKNOWN(%d): ", id);
    if (lo == hi)
        printf("%d", lo);
    else
        printf("%d to %d", lo, hi);
    if (!k)
        return;
    if (k->latest < lo)
        printf(" [unusable: node too new]");
    else if (hi < k->oldest)
        printf(" [unusable: node too old]");
    else
        printf(" [usable: %d]", k->latest < hi ? k->latest : hi);
}

static void print_broker(const kclient_t *c, const char *host, int32_t port, int32_t id,
                         const char *rack)
{
    printf("%s:%d (id: %d rack: %s) -> (\n\t", host, port, id, rack ? rack : "null");
    bool first = true;
    for (int16_t key = 0; key < KCLIENT_MAX_API; key++) {
        const kafka_api_key_t *k = known_key(key);
        bool served = c->api_min[key] >= 0;
        if (!served && !(k && k->client_api))
            continue;
        if (!first)
            printf(",\n\t");
        first = false;
        if (served)
            print_version(c, key);
        else
            printf("%s(%d): UNSUPPORTED", k->name, key);
    }
    printf("\n)\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "bootstrap-server", required_argument, NULL, OPT_BOOTSTRAP },
        { "command-config", required_argument, NULL, OPT_COMMAND_CONFIG },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    const char *bootstrap = NULL;
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case OPT_BOOTSTRAP: bootstrap = optarg; break;
        case OPT_COMMAND_CONFIG: break;     /* PLAINTEXT only so far: nothing to apply */
        case OPT_HELP: printf("Usage: " PROG " --bootstrap-server HOST:PORT\n"); return 0;
        default: return 1;
        }
    }
    if (!bootstrap)
        tool_die(PROG, "Missing required argument \"[bootstrap-server]\"");
    kclient_t c;
    arena_t a;
    const struct metadata_response *m = tool_bootstrap(&c, &a, PROG, bootstrap, true);
    for (int i = 0; i < m->brokers_count; i++) {
        const struct metadata_response_metadata_response_broker *br = &m->brokers[i];
        char *host = kstr_dup(&a, br->host);
        kclient_t bc;
        if (tool_connect_broker(&bc, &a, PROG, m, br->node_id) < 0) {
            printf("%s:%d (id: %d rack: %s) -> ERROR: cannot connect\n", host, br->port,
                   br->node_id, br->rack.len >= 0 ? kstr_dup(&a, br->rack) : "null");
            continue;
        }
        print_broker(&bc, host, br->port, br->node_id,
                     br->rack.len >= 0 ? kstr_dup(&a, br->rack) : NULL);
        kclient_close(&bc);
    }
    arena_free(&a);
    kclient_close(&c);
    return 0;
}
