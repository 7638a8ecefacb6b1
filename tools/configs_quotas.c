/*
 * configs_quotas.c - samsa-configs for users and clients (configs_quotas.h),
 * as Kafka 3.9's ConfigCommand does them over --bootstrap-server: quotas
 * with DescribeClientQuotas / AlterClientQuotas, SCRAM credentials with
 * DescribeUserScramCredentials / AlterUserScramCredentials (the password
 * salted here, as Kafka's AdminClient salts it), with Kafka's checks,
 * messages and output.  Kafka prints a describe's entities and keys in
 * its HashMaps' order and numbers as Java prints doubles; both are
 * reproduced so scripts see the same lines.
 */
#define _GNU_SOURCE
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "configs_quotas.h"
#include "kafka_errors.h"
#include "proto_messages.h"
#include "scram.h"
#include "tool_common.h"
#include "util.h"

#define PROG "samsa-configs"
#define DEFAULT_SCRAM_ITERATIONS 4096

/* ---- Java's formatting and HashMap order ---- */

/* Double.toString: the shortest digits that read back; plain between
 * 10^-3 and 10^7, else d.dddE<n>. */
static void java_double(double v, char *out, size_t cap)
{
    char digits[40];
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(digits, sizeof(digits), "%.*e", prec - 1, v);
        if (strtod(digits, NULL) == v)
            break;
    }
    snprintf(digits, sizeof(digits), "%.*e", prec - 1, v);
    double a = v < 0 ? -v : v;
    if (a >= 1e-3 && a < 1e7) {
        snprintf(out, cap, "%.*f", MAX(prec - 1 - atoi(strchr(digits, 'e') + 1), 1), v);
        return;
    }
    char *e = strchr(digits, 'e');
    int exp = atoi(e + 1);
    *e = '\0';
    snprintf(out, cap, "%s%sE%d", digits, strchr(digits, '.') ? "" : ".0", exp);
}

static int32_t java_string_hash(kstr_t s)
{
    uint32_t h = 0;
    for (int32_t i = 0; i < s.len; i++)
        h = 31 * h + (uint8_t)s.ptr[i];
    return (int32_t)h;
}

/* The table size a HashMap built with new HashMap<>(n) and n puts ends at. */
static uint32_t java_map_capacity(int n)
{
    uint32_t cap = 1;
    while ((int)cap < n)
        cap <<= 1;
    while ((double)n > cap * 0.75)
        cap <<= 1;
    return cap;
}

static uint32_t java_bucket(int32_t hash, uint32_t cap)
{
    uint32_t h = (uint32_t)hash;
    return (h ^ (h >> 16)) & (cap - 1);
}

typedef struct ordered {
    uint32_t bucket;
    int index;                  /* insertion order within a bucket */
} ordered_t;

static int cmp_ordered(const void *a, const void *b)
{
    const ordered_t *x = a, *y = b;
    return x->bucket != y->bucket ? (x->bucket > y->bucket) - (x->bucket < y->bucket)
                                  : x->index - y->index;
}

/* ---- describe ---- */

static const char *quota_entity_type(const char *config_type)
{
    return !strcmp(config_type, "users") ? "user" : !strcmp(config_type, "clients") ? "client-id"
                                                                                  : "ip";
}

static void describe_quotas(kclient_t *c, arena_t *a, const quota_cmd_t *q)
{
    struct describe_client_quotas_request rq;
    describe_client_quotas_request_defaults(&rq);
    rq.strict = true;
    rq.components_count = q->n;
    rq.components = describe_client_quotas_request_component_data_array(a, q->n);
    for (int i = 0; i < q->n; i++) {
        struct describe_client_quotas_request_component_data *cd = &rq.components[i];
        cd->entity_type = kstr_from_cstr(quota_entity_type(q->types[i]));
        cd->match_type = !q->names[i] ? 2 : q->names[i][0] ? 0 : 1;    /* specified, exact, default */
        cd->match = q->names[i] && q->names[i][0] ? kstr_from_cstr(q->names[i]) : KSTR_NULL;
    }
    struct describe_client_quotas_response resp;
    tool_rpc(c, a, PROG, "DescribeClientQuotas", 1, &rq, &resp);
    if (resp.error_code)
        tool_die(PROG, "%s", resp.error_message.len > 0 ? kstr_dup(a, resp.error_message)
                                                       : kafka_error_name(resp.error_code));
    int n = MAX(resp.entries_count, 0);
    ordered_t *order = arena_array(a, (size_t)n + 1, sizeof(*order));
    uint32_t cap = java_map_capacity(n);
    for (int i = 0; i < n; i++) {
        const struct describe_client_quotas_response_entry_data *e = &resp.entries[i];
        uint32_t h = 0;         /* Objects.hash(entries): 31 + the map's hash, wrapping as Java's int */
        for (int k = 0; k < e->entity_count; k++)
            h += (uint32_t)(java_string_hash(e->entity[k].entity_type) ^
                            (e->entity[k].entity_name.len >= 0 ? java_string_hash(e->entity[k].entity_name) : 0));
        order[i] = (ordered_t){ java_bucket((int32_t)(31u + h), cap), i };
    }
    qsort(order, (size_t)n, sizeof(*order), cmp_ordered);
    static const char *const kinds[][2] = { { "user", "user-principal" },
                                            { "client-id", "client-id" }, { "ip", "ip" } };
    for (int i = 0; i < n; i++) {
        const struct describe_client_quotas_response_entry_data *e = &resp.entries[order[i].index];
        printf("Quota configs for ");
        int parts = 0;
        for (size_t kind = 0; kind < 3; kind++)
            for (int k = 0; k < e->entity_count; k++) {
                const struct describe_client_quotas_response_entity_data *d = &e->entity[k];
                if (!kstr_eq_cstr(d->entity_type, kinds[kind][0]))
                    continue;
                if (d->entity_name.len >= 0)
                    printf("%s%s '%.*s'", parts++ ? ", " : "", kinds[kind][1], d->entity_name.len,
                           d->entity_name.ptr);
                else
                    printf("%sthe default %s", parts++ ? ", " : "", kinds[kind][1]);
            }
        int nv = MAX(e->values_count, 0);
        ordered_t *vo = arena_array(a, (size_t)nv + 1, sizeof(*vo));
        for (int k = 0; k < nv; k++)
            vo[k] = (ordered_t){ java_bucket(java_string_hash(e->values[k].key),
                                             java_map_capacity(nv)), k };
        qsort(vo, (size_t)nv, sizeof(*vo), cmp_ordered);
        printf(" are ");
        for (int k = 0; k < nv; k++) {
            char num[48];
            java_double(e->values[vo[k].index].value, num, sizeof(num));
            printf("%s%.*s=%s", k ? ", " : "", e->values[vo[k].index].key.len,
                   e->values[vo[k].index].key.ptr, num);
        }
        printf("\n");
    }
}

static void describe_scram(kclient_t *c, arena_t *a, const quota_cmd_t *q)
{
    struct describe_user_scram_credentials_request rq;
    describe_user_scram_credentials_request_defaults(&rq);
    rq.users_count = q->names[0] ? 1 : -1;     /* no name: every user */
    if (q->names[0]) {
        rq.users = describe_user_scram_credentials_request_user_name_array(a, 1);
        rq.users[0].name = kstr_from_cstr(q->names[0]);
    }
    struct describe_user_scram_credentials_response resp;
    tool_rpc(c, a, PROG, "DescribeUserScramCredentials", 0, &rq, &resp);
    if (resp.error_code)
        tool_die(PROG, "%s", resp.error_message.len > 0 ? kstr_dup(a, resp.error_message)
                                                       : kafka_error_name(resp.error_code));
    for (int i = 0; i < resp.results_count; i++) {
        const struct describe_user_scram_credentials_response_describe_user_scram_credentials_result
            *r = &resp.results[i];
        if (r->error_code == KERR_RESOURCE_NOT_FOUND)
            continue;
        if (r->error_code) {
            printf("Error retrieving SCRAM credential configs for user-principal '%.*s': %s\n",
                   r->user.len, r->user.ptr, r->error_message.len > 0
                   ? kstr_dup(a, r->error_message) : kafka_error_name(r->error_code));
            continue;
        }
        printf("SCRAM credential configs for user-principal '%.*s' are ", r->user.len, r->user.ptr);
        for (int k = 0; k < r->credential_infos_count; k++)
            printf("%s%s=iterations=%d", k ? ", " : "",
                   scram_mech_name((scram_mech_t)r->credential_infos[k].mechanism),
                   r->credential_infos[k].iterations);
        printf("\n");
    }
}

int configs_quotas_describe(kclient_t *c, arena_t *a, const quota_cmd_t *q)
{
    describe_quotas(c, a, q);
    bool clients = false, defaults = false;
    for (int i = 0; i < q->n; i++) {
        clients |= !strcmp(q->types[i], "clients");
        defaults |= q->names[i] && !q->names[i][0];
    }
    /* As Kafka: credentials only for users, and not for the default user. */
    if (!clients && !defaults && !strcmp(q->types[0], "users"))
        describe_scram(c, a, q);
    return 0;
}

/* ---- alter ---- */

static bool is_quota_key(const char *k)
{
    static const char *const keys[] = { "producer_byte_rate", "consumer_byte_rate",
                                        "request_percentage", "controller_mutation_rate" };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (!strcmp(k, keys[i]))
            return true;
    return false;
}

/* A rejected command: Kafka's IllegalArgumentException text. */
static int refuse(const quota_cmd_t *q, const char *fmt, const char *what)
{
    fprintf(stderr, "Error while executing config command with args '%s'\n", q->args);
    fprintf(stderr, fmt, what);
    fprintf(stderr, "\n");
    return 1;
}

/* The keys pick selects, as Scala prints the collection ("Set(a, b)"),
 * or "" if none. */
/* A broker's refusal (its message, or the error's name); 0 if none. */
static int refused_by_broker(const quota_cmd_t *q, arena_t *a, int16_t code, kstr_t message)
{
    if (!code)
        return 0;
    return refuse(q, "%s", message.len > 0 ? kstr_dup(a, message) : kafka_error_name(code));
}

static void list_keys(char *out, size_t cap, const char *collection, char *const *keys, int n,
                      bool (*pick)(const char *))
{
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < n; i++)
        if (pick(keys[i]) && len < cap)
            len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? ", " : collection, keys[i]);
    if (len && len + 1 < cap)
        strcat(out, ")");
}

static bool is_scram_key(const char *k)
{
    return scram_mech_by_name(k) != SCRAM_UNKNOWN;
}

static bool is_unknown_key(const char *k)
{
    return !is_quota_key(k) && !is_scram_key(k);
}

static bool is_not_quota_key(const char *k)
{
    return !is_quota_key(k);
}

static int alter_quotas(kclient_t *c, arena_t *a, const quota_cmd_t *q)
{
    /* Deleting a key the entity does not have is refused first. */
    char bad[512] = "";
    if (q->n_del > 0) {
        struct describe_client_quotas_request dq;
        describe_client_quotas_request_defaults(&dq);
        dq.strict = true;
        dq.components_count = q->n;
        dq.components = describe_client_quotas_request_component_data_array(a, q->n);
        for (int i = 0; i < q->n; i++)
            dq.components[i] = (struct describe_client_quotas_request_component_data){
                kstr_from_cstr(quota_entity_type(q->types[i])), q->names[i][0] ? 0 : 1,
                q->names[i][0] ? kstr_from_cstr(q->names[i]) : KSTR_NULL };
        struct describe_client_quotas_response dr;
        tool_rpc(c, a, PROG, "DescribeClientQuotas", 1, &dq, &dr);
        for (int d = 0; d < q->n_del; d++) {
            bool found = false;
            for (int i = 0; i < dr.entries_count && !found; i++)
                for (int k = 0; k < dr.entries[i].values_count && !found; k++)
                    found = kstr_eq_cstr(dr.entries[i].values[k].key, q->del[d]);
            if (!found)
                snprintf(bad + strlen(bad), sizeof(bad) - strlen(bad), "%s%s", bad[0] ? "," : "",
                         q->del[d]);
        }
    }
    if (bad[0])
        return refuse(q, "Invalid config(s): %s", bad);
    struct alter_client_quotas_request rq;
    alter_client_quotas_request_defaults(&rq);
    rq.entries_count = 1;
    rq.entries = alter_client_quotas_request_entry_data_array(a, 1);
    struct alter_client_quotas_request_entry_data *e = &rq.entries[0];
    e->entity_count = q->n;
    e->entity = alter_client_quotas_request_entity_data_array(a, q->n);
    for (int i = 0; i < q->n; i++)
        e->entity[i] = (struct alter_client_quotas_request_entity_data){
            kstr_from_cstr(quota_entity_type(q->types[i])),
            q->names[i][0] ? kstr_from_cstr(q->names[i]) : KSTR_NULL };
    e->ops_count = q->n_add + q->n_del;
    e->ops = alter_client_quotas_request_op_data_array(a, e->ops_count);
    for (int i = 0; i < q->n_add; i++) {
        char *end;
        double v = strtod(q->add_v[i], &end);
        if (!q->add_v[i][0] || *end) {
            char what[300];
            snprintf(what, sizeof(what), "%s: %s", q->add_k[i], q->add_v[i]);
            return refuse(q, "Cannot parse quota configuration value for %s", what);
        }
        e->ops[i] = (struct alter_client_quotas_request_op_data){ kstr_from_cstr(q->add_k[i]), v,
                                                                 false };
    }
    for (int i = 0; i < q->n_del; i++)
        e->ops[q->n_add + i] = (struct alter_client_quotas_request_op_data){
            kstr_from_cstr(q->del[i]), 0, true };
    struct alter_client_quotas_response resp;
    tool_rpc(c, a, PROG, "AlterClientQuotas", 1, &rq, &resp);
    int rc = 0;
    for (int i = 0; i < resp.entries_count && !rc; i++)
        rc = refused_by_broker(q, a, resp.entries[i].error_code, resp.entries[i].error_message);
    return rc;
}

/* "[iterations=N,]password=P" (Kafka's pattern); -1 if malformed. */
static int parse_credential(const char *v, int32_t *iterations, const char **password)
{
    *iterations = DEFAULT_SCRAM_ITERATIONS;
    if (!strncmp(v, "iterations=", 11)) {
        char *end;
        long n = strtol(v + 11, &end, 10);
        if (*end != ',')
            return -1;
        if (end != v + 11 && n != -1)
            *iterations = (int32_t)n;
        v = end + 1;
    }
    if (strncmp(v, "password=", 9))
        return -1;
    *password = v + 9;
    return 0;
}

/* Kafka's AdminClient salt: a 130-bit random number in base 36, as text. */
static kbytes_t random_salt(arena_t *a)
{
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    uint8_t raw[26];
    char *salt = arena_alloc(a, sizeof(raw));
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        tool_die(PROG, "No random bytes for a SCRAM salt");
    for (size_t i = 0; i < sizeof(raw); i++)
        salt[i] = digits[raw[i] % 36];
    return (kbytes_t){ (uint8_t *)salt, (int32_t)sizeof(raw) };
}

static int alter_scram(kclient_t *c, arena_t *a, const quota_cmd_t *q)
{
    struct alter_user_scram_credentials_request rq;
    alter_user_scram_credentials_request_defaults(&rq);
    rq.deletions_count = q->n_del;
    rq.deletions = alter_user_scram_credentials_request_scram_credential_deletion_array(a, q->n_del);
    for (int i = 0; i < q->n_del; i++)
        rq.deletions[i] = (struct alter_user_scram_credentials_request_scram_credential_deletion){
            kstr_from_cstr(q->names[0]), (int8_t)scram_mech_by_name(q->del[i]) };
    rq.upsertions_count = q->n_add;
    rq.upsertions = alter_user_scram_credentials_request_scram_credential_upsertion_array(a, q->n_add);
    for (int i = 0; i < q->n_add; i++) {
        scram_mech_t m = scram_mech_by_name(q->add_k[i]);
        int32_t iterations;
        const char *password;
        char what[300];
        snprintf(what, sizeof(what), "%s=%s", q->add_k[i], q->add_v[i]);
        if (parse_credential(q->add_v[i], &iterations, &password) < 0)
            return refuse(q, "Invalid credential property %s", what);
        if (iterations < SCRAM_MIN_ITERATIONS) {
            snprintf(what, sizeof(what), "%d is less than the minimum %d required for %s",
                     iterations, SCRAM_MIN_ITERATIONS, q->add_k[i]);
            return refuse(q, "Iterations %s", what);
        }
        kbytes_t salt = random_salt(a);
        uint8_t *salted = arena_alloc(a, SCRAM_KEY_MAX);
        if (scram_salted_password(m, password, salt.ptr, (size_t)salt.len, iterations, salted) < 0)
            tool_die(PROG, "Cannot salt the password");
        rq.upsertions[i] = (struct alter_user_scram_credentials_request_scram_credential_upsertion){
            kstr_from_cstr(q->names[0]), (int8_t)m, iterations, salt,
            (kbytes_t){ salted, (int32_t)scram_key_len(m) } };
    }
    struct alter_user_scram_credentials_response resp;
    tool_rpc(c, a, PROG, "AlterUserScramCredentials", 0, &rq, &resp);
    int rc = 0;
    for (int i = 0; i < resp.results_count && !rc; i++)
        rc = refused_by_broker(q, a, resp.results[i].error_code, resp.results[i].error_message);
    return rc;
}

int configs_quotas_alter(kclient_t *c, arena_t *a, const quota_cmd_t *q)
{
    for (int i = 0; i < q->n; i++)
        if (!q->names[i])
            return refuse(q, "%s", "Exactly one entity name must be specified for every entity type");
    bool users_only = q->n == 1 && !strcmp(q->types[0], "users");
    bool quota_keys = false, scram_keys = false;
    for (int i = 0; i < q->n_add; i++) {
        quota_keys |= is_quota_key(q->add_k[i]);
        scram_keys |= is_scram_key(q->add_k[i]);
    }
    for (int i = 0; i < q->n_del; i++) {
        quota_keys |= is_quota_key(q->del[i]);
        scram_keys |= is_scram_key(q->del[i]);
    }
    char keys[600];
    const char *kind = users_only ? "quota and SCRAM credential" : "quota";
    bool (*unexpected)(const char *) = users_only ? is_unknown_key : is_not_quota_key;
    char msg[160];
    list_keys(keys, sizeof(keys), "Set(", q->add_k, q->n_add, unexpected);
    if (keys[0]) {
        snprintf(msg, sizeof(msg), "Only %s configs can be added for '%s' using --bootstrap-server. "
                 "Unexpected config names: %%s", kind, users_only ? "users" : "clients");
        return refuse(q, msg, keys);
    }
    list_keys(keys, sizeof(keys), "ArrayBuffer(", q->del, q->n_del, unexpected);
    if (keys[0]) {
        snprintf(msg, sizeof(msg), "Only %s configs can be deleted for '%s' using --bootstrap-server. "
                 "Unexpected config names: %%s", kind, users_only ? "users" : "clients");
        return refuse(q, msg, keys);
    }
    if (scram_keys && !q->names[0][0])
        return refuse(q, "%s", "The use of --entity-default or --user-defaults is not allowed with "
                               "User SCRAM Credentials using --bootstrap-server.");
    if (scram_keys && quota_keys)
        return refuse(q, "%s", "Cannot alter both quota and SCRAM credential configs "
                               "simultaneously for 'users' using --bootstrap-server.");
    int rc = quota_keys ? alter_quotas(c, a, q) : alter_scram(c, a, q);
    if (rc)
        return rc;
    const char *type = q->types[0];
    if (q->names[0][0])
        printf("Completed updating config for %.*s %s.\n", (int)strlen(type) - 1, type, q->names[0]);
    else
        printf("Completed updating default config for %s in the cluster.\n", type);
    return 0;
}
