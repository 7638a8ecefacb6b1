/*
 * api_scram.c - owns DescribeUserScramCredentials (50) and
 * AlterUserScramCredentials (51) as a ZooKeeper-mode Kafka broker answers
 * them (ZkAdminManager): both read /config/users/<sanitized user> on the
 * ZooKeeper thread; Alter runs on the controller only (NOT_CONTROLLER
 * elsewhere), checks the request with Kafka's errors and messages, and
 * writes each user's config with its /config/changes notification, which
 * every broker's watch brings into its credential store.
 *
 * Threads: the handlers park the request; the answers are built on the
 * ZooKeeper thread (api_answer_on_zk_thread).
 * The cluster needs DESCRIBE / ALTER (api_answer_on_zk_thread).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "config_changes.h"
#include "controller.h"
#include "kafka_errors.h"
#include "logging.h"
#include "proto_messages.h"
#include "scram.h"
#include "util.h"

#define MSG_EMPTY_USER "Username must not be empty"

/* ---- DescribeUserScramCredentials ---- */

typedef struct describe_result
    describe_result_t;
struct describe_result {
    const char *user;
    int16_t error;
    const char *message;
    int8_t mechs[2];
    int32_t iterations[2];
    int n;
};

/* The SCRAM entries of a user's config into r; false if it has none. */
static bool scram_infos(const kv_list_t *cfg, describe_result_t *r)
{
    r->n = 0;
    for (scram_mech_t m = SCRAM_SHA_256; m <= SCRAM_SHA_512; m++) {
        const char *text = kv_get(cfg, scram_mech_name(m));
        scram_credential_t c;
        if (!text)
            continue;
        if (scram_credential_parse(m, text, &c) < 0) {
            r->error = KERR_UNKNOWN_SERVER_ERROR;
            r->message = "Error processing describe user SCRAM credential configs request";
            continue;
        }
        r->mechs[r->n] = (int8_t)m;
        r->iterations[r->n++] = c.iterations;
    }
    return r->n > 0 || r->error;
}

static int by_user(const void *a, const void *b)
{
    return strcmp(((const describe_result_t *)a)->user, ((const describe_result_t *)b)->user);
}

typedef struct describe_all_ctx {
    arena_t *a;
    describe_result_t *v;       /* malloc'd while listing */
    int n, cap;
} describe_all_ctx_t;

static void describe_listed(const char *name, kv_list_t *config, void *arg)
{
    describe_all_ctx_t *d = arg;
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 16;
        d->v = xrealloc(d->v, sizeof(*d->v) * (size_t)d->cap);
    }
    char *user = kafka_desanitize(name);
    memset(&d->v[d->n], 0, sizeof(d->v[d->n]));
    if (user && scram_infos(config, &d->v[d->n]))
        d->v[d->n++].user = arena_strdup(d->a, user);
    free(user);
}

/* Every user with a SCRAM credential, sorted by name. */
static int describe_all(arena_t *a, describe_result_t **out)
{
    describe_all_ctx_t d = { a, NULL, 0, 0 };
    if (config_each(controller_session(), "users", describe_listed, &d) < 0) {
        free(d.v);
        return -1;
    }
    qsort(d.v, (size_t)d.n, sizeof(*d.v), by_user);
    *out = arena_array(a, (size_t)d.n + 1, sizeof(**out));
    if (d.n)
        memcpy(*out, d.v, sizeof(**out) * (size_t)d.n);
    free(d.v);
    return d.n;
}

static bool named_twice(const struct describe_user_scram_credentials_request *rq, kstr_t name)
{
    int seen = 0;
    for (int i = 0; i < rq->users_count; i++)
        seen += rq->users[i].name.len == name.len &&
                !memcmp(rq->users[i].name.ptr, name.ptr, (size_t)MAX(name.len, 0));
    return seen > 1;
}

/* The users asked for, each once, in the request's order. */
static int describe_some(arena_t *a, const struct describe_user_scram_credentials_request *rq,
                         describe_result_t **out)
{
    describe_result_t *v = arena_array(a, (size_t)rq->users_count + 1, sizeof(*v));
    int k = 0;
    for (int i = 0; i < rq->users_count; i++) {
        const char *user = kstr_dup_or_empty(a, rq->users[i].name);
        bool again = false;
        for (int j = 0; j < k && !again; j++)
            again = !strcmp(v[j].user, user);
        if (again)
            continue;
        describe_result_t *r = &v[k++];
        memset(r, 0, sizeof(*r));
        r->user = user;
        if (!user[0]) {
            r->error = KERR_RESOURCE_NOT_FOUND;
            r->message = MSG_EMPTY_USER;
            continue;
        }
        if (named_twice(rq, rq->users[i].name)) {
            r->error = KERR_DUPLICATE_RESOURCE;
            r->message = arena_printf(a, "Cannot describe SCRAM credentials for the same user "
                                      "twice in a single request: %s", user);
            continue;
        }
        char *sanitized = kafka_sanitize(user);
        kv_list_t cfg = { 0 };
        int rc = config_read_entity(controller_session(), "users", sanitized, &cfg);
        free(sanitized);
        if (rc != ZOK && rc != ZNONODE) {
            r->error = KERR_UNKNOWN_SERVER_ERROR;
            r->message = "Error processing describe user SCRAM credential configs request";
        } else if (!scram_infos(&cfg, r)) {
            r->error = KERR_RESOURCE_NOT_FOUND;
            r->message = arena_printf(a, "Attempt to describe a user credential that does not "
                                      "exist: %s", user);
        }
        kv_free(&cfg);
    }
    *out = v;
    return k;
}

/* @locality the ZooKeeper thread
 * @locks none */
static void describe_handle(arena_t *a, int16_t v, kreader_t *body, int16_t denied,
                            kwriter_t *out)
{
    struct describe_user_scram_credentials_request rq;
    struct describe_user_scram_credentials_response resp;
    describe_user_scram_credentials_response_defaults(&resp);
    resp.results_count = 0;
    describe_result_t *res = NULL;
    int n = 0;
    if (describe_user_scram_credentials_request_decode(body, v, &rq) < 0) {
        resp.error_code = KERR_INVALID_REQUEST;
    } else if (denied) {
        /* Kafka's getErrorResponse: the error, its message, and each user
         * asked for with the same. */
        resp.error_code = denied;
        resp.error_message = KSTR_LIT("Cluster authorization failed.");
        n = MAX(rq.users_count, 0);
        res = arena_array(a, (size_t)n + 1, sizeof(*res));
        for (int i = 0; i < n; i++)
            res[i] = (describe_result_t){ .user = kstr_dup_or_empty(a, rq.users[i].name),
                                          .error = denied,
                                          .message = "Cluster authorization failed." };
    } else if ((n = rq.users_count > 0 ? describe_some(a, &rq, &res) : describe_all(a, &res)) < 0) {
        resp.error_code = KERR_UNKNOWN_SERVER_ERROR;
        resp.error_message = KSTR_LIT("Cannot list /config/users");
        n = 0;
    }
    resp.results_count = n;
    resp.results = describe_user_scram_credentials_response_describe_user_scram_credentials_result_array(a, n);
    for (int i = 0; i < n; i++) {
        struct describe_user_scram_credentials_response_describe_user_scram_credentials_result *r =
            &resp.results[i];
        r->user = kstr_from_cstr(res[i].user);
        r->error_code = res[i].error;
        r->error_message = res[i].message ? kstr_from_cstr(res[i].message) : KSTR_NULL;
        r->credential_infos_count = res[i].error ? 0 : res[i].n;
        r->credential_infos = describe_user_scram_credentials_response_credential_info_array(a, res[i].n);
        for (int k = 0; k < r->credential_infos_count; k++) {
            r->credential_infos[k].mechanism = res[i].mechs[k];
            r->credential_infos[k].iterations = res[i].iterations[k];
        }
    }
    describe_user_scram_credentials_response_encode(out, v, &resp);
}

enum handler_result api_describe_user_scram_credentials(broker_t *b, request_t *req)
{
    (void)b;
    return api_answer_on_zk_thread(req, describe_handle, ACL_OP_DESCRIBE);
}

/* ---- AlterUserScramCredentials ---- */

/* One user of the request and what happens to it. */
typedef struct alter_user {
    const char *name;
    int16_t error;
    const char *message;
    bool decided;               /* error set by the checks */
} alter_user_t;

typedef struct alter_plan {
    alter_user_t *users;
    int n;
} alter_plan_t;

static alter_user_t *user_of(arena_t *a, alter_plan_t *p, const char *name)
{
    for (int i = 0; i < p->n; i++)
        if (!strcmp(p->users[i].name, name))
            return &p->users[i];
    alter_user_t *u = &p->users[p->n++];
    *u = (alter_user_t){ .name = arena_strdup(a, name) };
    return u;
}

static void decide(alter_user_t *u, int16_t error, const char *message)
{
    u->error = error;
    u->message = message;
    u->decided = true;
}

/* Kafka's first pass: empty names, unknown mechanisms, iterations out of
 * range (an upsertion's reason wins over a deletion's). */
static void check_illegal(arena_t *a, alter_plan_t *p,
                          const struct alter_user_scram_credentials_request *rq)
{
    for (int i = 0; i < MAX(rq->deletions_count, 0); i++) {
        alter_user_t *u = user_of(a, p, kstr_dup_or_empty(a, rq->deletions[i].name));
        if (!u->name[0])
            decide(u, KERR_UNACCEPTABLE_CREDENTIAL, MSG_EMPTY_USER);
        else if (!scram_mech_name((scram_mech_t)rq->deletions[i].mechanism))
            decide(u, KERR_UNSUPPORTED_SASL_MECHANISM, "Unknown SCRAM mechanism");
    }
    for (int i = 0; i < MAX(rq->upsertions_count, 0); i++) {
        const struct alter_user_scram_credentials_request_scram_credential_upsertion *up =
            &rq->upsertions[i];
        alter_user_t *u = user_of(a, p, kstr_dup_or_empty(a, up->name));
        if (!u->name[0])
            decide(u, KERR_UNACCEPTABLE_CREDENTIAL, MSG_EMPTY_USER);
        else if (!scram_mech_name((scram_mech_t)up->mechanism))
            decide(u, KERR_UNSUPPORTED_SASL_MECHANISM, "Unknown SCRAM mechanism");
        else if (up->iterations > SCRAM_MAX_ITERATIONS)
            decide(u, KERR_UNACCEPTABLE_CREDENTIAL, "Too many iterations");
        else if (up->iterations < SCRAM_MIN_ITERATIONS)
            decide(u, KERR_UNACCEPTABLE_CREDENTIAL, "Too few iterations");
    }
}

/* A (user, mechanism) pair named twice among the still-valid users. */
static void check_duplicates(arena_t *a, alter_plan_t *p,
                             const struct alter_user_scram_credentials_request *rq)
{
    int nd = MAX(rq->deletions_count, 0), nu = MAX(rq->upsertions_count, 0);
    const char **names = arena_array(a, (size_t)(nd + nu) + 1, sizeof(char *));
    int8_t *mechs = arena_array(a, (size_t)(nd + nu) + 1, 1);
    for (int i = 0; i < nu; i++) {
        names[i] = kstr_dup_or_empty(a, rq->upsertions[i].name);
        mechs[i] = rq->upsertions[i].mechanism;
    }
    for (int i = 0; i < nd; i++) {
        names[nu + i] = kstr_dup_or_empty(a, rq->deletions[i].name);
        mechs[nu + i] = rq->deletions[i].mechanism;
    }
    for (int i = 0; i < nd + nu; i++)
        for (int j = i + 1; j < nd + nu; j++)
            if (mechs[i] == mechs[j] && !strcmp(names[i], names[j])) {
                alter_user_t *u = user_of(a, p, names[i]);
                if (!u->decided)
                    decide(u, KERR_DUPLICATE_RESOURCE,
                           "A user credential cannot be altered twice in the same request");
            }
}

/* Applies the request's changes for u to its config; false with u decided
 * if a deletion names a credential it does not have. */
static bool change_config(const struct alter_user_scram_credentials_request *rq, alter_user_t *u,
                          kv_list_t *cfg)
{
    for (int i = 0; i < MAX(rq->deletions_count, 0); i++) {
        const char *mech = scram_mech_name((scram_mech_t)rq->deletions[i].mechanism);
        if (kstr_eq_cstr(rq->deletions[i].name, u->name) && !kv_remove(cfg, mech)) {
            decide(u, KERR_RESOURCE_NOT_FOUND,
                   "Attempt to delete a user credential that does not exist");
            return false;
        }
    }
    for (int i = 0; i < MAX(rq->upsertions_count, 0); i++) {
        const struct alter_user_scram_credentials_request_scram_credential_upsertion *up =
            &rq->upsertions[i];
        if (!kstr_eq_cstr(up->name, u->name))
            continue;
        scram_mech_t m = (scram_mech_t)up->mechanism;
        scram_credential_t c;
        if (scram_credential_from_salted(m, up->salt.ptr, (size_t)MAX(up->salt.len, 0),
                                         up->salted_password.ptr,
                                         (size_t)MAX(up->salted_password.len, 0), up->iterations,
                                         &c) < 0) {
            decide(u, KERR_UNACCEPTABLE_CREDENTIAL,
                   "The salt or salted password does not fit the SCRAM mechanism");
            return false;
        }
        char *text = scram_credential_format(&c);
        kv_set(cfg, scram_mech_name(m), text);
        free(text);
    }
    return true;
}

/* Reads, changes and writes one user's config (with its notification). */
static void alter_user(const struct alter_user_scram_credentials_request *rq, alter_user_t *u)
{
    zk_session_t *zs = controller_session();
    char *sanitized = kafka_sanitize(u->name);
    kv_list_t cfg = { 0 };
    int rc = config_read_entity(zs, "users", sanitized, &cfg);
    if (rc != ZOK && rc != ZNONODE) {
        decide(u, KERR_UNKNOWN_SERVER_ERROR, zerror(rc));
    } else if (change_config(rq, u, &cfg)) {
        rc = config_write_entity(zs, "users", sanitized, &cfg);
        if (rc != ZOK) {
            log_warn("config", "Cannot write the SCRAM credentials of user %s: %s", u->name,
                     zerror(rc));
            decide(u, KERR_UNKNOWN_SERVER_ERROR, zerror(rc));
        } else {
            log_info("config", "Altered the SCRAM credentials of user %s", u->name);
        }
    }
    kv_free(&cfg);
    free(sanitized);
}

static void alter_answer(arena_t *a, const alter_plan_t *p, kwriter_t *out, int16_t v)
{
    struct alter_user_scram_credentials_response resp;
    alter_user_scram_credentials_response_defaults(&resp);
    resp.results_count = p->n;
    resp.results = alter_user_scram_credentials_response_alter_user_scram_credentials_result_array(a, p->n);
    for (int i = 0; i < p->n; i++) {
        resp.results[i].user = kstr_from_cstr(p->users[i].name);
        resp.results[i].error_code = p->users[i].error;
        resp.results[i].error_message =
            p->users[i].error ? kstr_from_cstr(p->users[i].message) : KSTR_NULL;
    }
    alter_user_scram_credentials_response_encode(out, v, &resp);
}

static int by_name(const void *x, const void *y)
{
    return strcmp(((const alter_user_t *)x)->name, ((const alter_user_t *)y)->name);
}

/* @locality the ZooKeeper thread
 * @locks none */
static void alter_handle(arena_t *a, int16_t v, kreader_t *body, int16_t denied, kwriter_t *out)
{
    struct alter_user_scram_credentials_request rq;
    alter_plan_t p = { 0 };
    if (alter_user_scram_credentials_request_decode(body, v, &rq) < 0) {
        alter_answer(a, &p, out, v);
        return;
    }
    int total = MAX(rq.deletions_count, 0) + MAX(rq.upsertions_count, 0);
    p.users = arena_array(a, (size_t)total + 1, sizeof(alter_user_t));
    if (denied || !controller_is_active()) {
        /* Kafka's getErrorResponse: every user, sorted, the same error. */
        check_illegal(a, &p, &rq);
        for (int i = 0; i < p.n; i++)
            decide(&p.users[i], denied ? denied : KERR_NOT_CONTROLLER,
                   denied ? "Cluster authorization failed."
                          : "This is not the correct controller for this cluster.");
        qsort(p.users, (size_t)p.n, sizeof(alter_user_t), by_name);
        alter_answer(a, &p, out, v);
        return;
    }
    check_illegal(a, &p, &rq);
    check_duplicates(a, &p, &rq);
    for (int i = 0; i < p.n; i++)
        if (!p.users[i].decided)
            alter_user(&rq, &p.users[i]);
    alter_answer(a, &p, out, v);
}

enum handler_result api_alter_user_scram_credentials(broker_t *b, request_t *req)
{
    (void)b;
    return api_answer_on_zk_thread(req, alter_handle, ACL_OP_ALTER);
}
