/*
 * topic_admin.c - owns topic creation and deletion (see topic_admin.h):
 * validation and replica assignment on the event loop, the znode writes on
 * the ZooKeeper thread, and the controller's partition-state creation and
 * deletion processing.  The set of topics being created is event-loop
 * state; a job's memory belongs to the job.
 */
#define _GNU_SOURCE

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "controller.h"
#include "controller_internal.h"
#include "controller_state.h"
#include "replica_assignment.h"
#include "replica_manager.h"
#include "kafka_errors.h"
#include "logging.h"
#include "topic_admin.h"
#include "topic_admin_internal.h"
#include "topic_config.h"
#include "topic_deletion.h"
#include "util.h"
#include "zk_layout.h"
#include "zk_session.h"
#include "zk_worker.h"

/* Names of topics this broker is creating; event-loop thread. */
typedef struct creating {
    char *name;
    UT_hash_handle hh;
} creating_t;
static creating_t *creating;


/* Jobs waiting before their answer (event-loop thread), answered at once
 * by topic_admin_shutdown(). */
static admin_job_t *waiting;

bool topic_admin_creating(const char *name)
{
    creating_t *c;
    HASH_FIND_STR(creating, name, c);
    return c != NULL;
}

static void creating_set(const char *name, bool on)
{
    creating_t *c;
    HASH_FIND_STR(creating, name, c);
    if (on && !c) {
        c = xcalloc(1, sizeof(*c));
        c->name = xstrdup(name);
        HASH_ADD_KEYPTR(hh, creating, c->name, strlen(c->name), c);
    } else if (!on && c) {
        HASH_DEL(creating, c);
        free(c->name);
        free(c);
    }
}

int16_t topic_partition_count_invalid(int32_t count, char *msg, size_t n)
{
    if (count <= TOPIC_MAX_PARTITIONS)
        return KERR_NONE;
    snprintf(msg, n, "Number of partitions %d is above samsa's limit of %d per topic.", count,
             TOPIC_MAX_PARTITIONS);
    log_warn("controller", "Refused a topic of %d partitions (the limit is %d)", count,
             TOPIC_MAX_PARTITIONS);
    return KERR_INVALID_PARTITIONS;
}

bool topic_is_internal(const char *name)
{
    return !strcmp(name, "__consumer_offsets") || !strcmp(name, "__transaction_state");
}

const char *topic_name_invalid(const char *name, int len)
{
    if (len <= 0)
        return "Topic name is illegal, it can't be empty";
    if (len == 1 && name[0] == '.')
        return "Topic name cannot be \".\"";
    if (len == 2 && name[0] == '.' && name[1] == '.')
        return "Topic name cannot be \"..\"";
    if (len > 249)
        return "Topic name is illegal, it can't be longer than 249 characters";
    for (int i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return "Topic name contains characters other than ASCII alphanumerics, '.', '_' and '-'";
    }
    return NULL;
}

void ta_set_result(topic_result_t *r, int16_t err, const char *msg)
{
    r->error = err;
    snprintf(r->message, sizeof(r->message), "%s", msg ? msg : "");
}

admin_job_t *ta_job_new(broker_t *b, int n_max, topics_done_fn done, void *arg)
{
    admin_job_t *j = xcalloc(1, sizeof(*j));
    j->b = b;
    j->index = xcalloc((size_t)n_max + 1, sizeof(int));
    j->names = xcalloc((size_t)n_max + 1, sizeof(char *));
    j->planned = xcalloc((size_t)n_max + 1, sizeof(mc_topic_t *));
    j->config_json = xcalloc((size_t)n_max + 1, sizeof(char *));
    j->done = done;
    j->arg = arg;
    return j;
}

static void job_free(admin_job_t *j)
{
    for (int i = 0; i < j->n; i++) {
        free(j->names[i]);
        mc_topic_free(j->planned[i]);
        free(j->config_json[i]);
    }
    for (int i = 0; i < j->n_loaded; i++)
        mc_topic_free(j->loaded[i]);
    free(j->index);
    free(j->names);
    free(j->planned);
    free(j->config_json);
    free(j->results);
    free(j->loaded);
    free(j->old_counts);
    free(j);
}

/* Hands a job with topics to the ZooKeeper thread, with the results decided
 * on the loop; returns how many topics it carries (0: nothing submitted,
 * @locality the event-loop thread
 * @locks none
 * each topic's result says why). */
int ta_job_submit(admin_job_t *j, zkw_fn run, loop_fn done, topic_result_t *results, int n)
{
    if (!j)
        return 0;
    j->results = xmalloc(sizeof(topic_result_t) * (size_t)(n + 1));
    memcpy(j->results, results, sizeof(topic_result_t) * (size_t)n);
    j->n_results = n;
    if (zkw_submit(run, done, j) < 0) {
        for (int i = 0; i < j->n; i++)
            ta_set_result(&results[j->index[i]], KERR_UNKNOWN_SERVER_ERROR, "Broker is shutting down");
        job_free(j);
        return 0;
    }
    return j->n;
}

/* The assignment the request gave, as is (Kafka does not check that its
 * brokers exist). */
static mc_topic_t *planned_as_given(const topic_spec_t *s)
{
    mc_topic_t *t = mc_topic_new(s->name, s->n_assigned_partitions);
    t->id = zkl_random_uuid();
    for (int32_t p = 0; p < s->n_assigned_partitions; p++) {
        t->parts[p].replicas = mc_ids_copy(s->replicas[p], s->n_assigned_replicas);
        t->parts[p].n_replicas = s->n_assigned_replicas;
    }
    return t;
}

static int cmp_id(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* The live brokers' ids, sorted (Kafka's assignment input). */
int32_t *ta_sorted_broker_ids(int *n)
{
    const mc_broker_t *brokers = mc_brokers(n);
    int32_t *ids = xcalloc((size_t)*n + 1, sizeof(int32_t));
    for (int i = 0; i < *n; i++)
        ids[i] = brokers[i].id;
    qsort(ids, (size_t)*n, sizeof(int32_t), cmp_id);
    return ids;
}

/* Their racks, in the same order ("" for none; pointers into the cache). */
static const char **sorted_broker_racks(const int32_t *ids, int n)
{
    int nb;
    const mc_broker_t *brokers = mc_brokers(&nb);
    const char **racks = xcalloc((size_t)n + 1, sizeof(*racks));
    for (int i = 0; i < n; i++)
        for (int k = 0; k < nb && !racks[i]; k++)
            if (brokers[k].id == ids[i])
                racks[i] = brokers[k].rack;
    return racks;
}

int16_t ta_check_racks(const char **msg)
{
    int nb;
    int32_t *ids = ta_sorted_broker_ids(&nb);
    const char **racks = sorted_broker_racks(ids, nb);
    int present = racks_present(racks, nb);
    free(racks);
    free(ids);
    if (present >= 0)
        return KERR_NONE;
    /* Kafka's AdminOperationException: an unknown error, whose message
     * Kafka does not send (ApiError.fromThrowable); the log says why. */
    log_warn("admin", "Cannot place replicas: %s", RACKS_MIXED_MESSAGE);
    *msg = NULL;
    return KERR_UNKNOWN_SERVER_ERROR;
}

/* Partitions [from, t->n_partitions) of t placed as Kafka places them. */
void ta_plan_partitions(mc_topic_t *t, int32_t from, int16_t rf, int start_index)
{
    int nb;
    int32_t *ids = ta_sorted_broker_ids(&nb);
    const char **racks = sorted_broker_racks(ids, nb);
    int32_t n = t->n_partitions - from;
    int32_t *placed = xcalloc((size_t)n * (size_t)rf + 1, sizeof(int32_t));
    assign_replicas(ids, racks, nb, from, n, rf, start_index, placed);
    free(racks);
    for (int32_t i = 0; i < n; i++) {
        mc_partition_t *p = &t->parts[from + i];
        p->replicas = mc_ids_copy(&placed[(size_t)i * (size_t)rf], rf);
        p->n_replicas = rf;
    }
    free(placed);
    free(ids);
}

static mc_topic_t *plan_topic(const char *name, int32_t np, int16_t rf)
{
    mc_topic_t *t = mc_topic_new(name, np);
    t->id = zkl_random_uuid();
    ta_plan_partitions(t, 0, rf, -1);
    return t;
}

/* Kafka's TopicExistsException message for an existing topic. */
static const char *exists_message(const char *name, bool marked_for_deletion)
{
    static char text[320];          /* event-loop thread; copied by the caller at once */
    snprintf(text, sizeof(text), "Topic '%s' %s", name,
             marked_for_deletion ? "is marked for deletion." : "already exists.");
    return text;
}

/* The partition count and replication factor (Kafka's assignment step). */
static int16_t check_create_shape(broker_t *b, const topic_spec_t *s, int32_t *np, int16_t *rf,
                                  const char **msg)
{
    if (s->replicas) {
        /* Checked in the request handler (api_topics.c) as Kafka's
         * validateTopicCreate does; unknown brokers are allowed. */
        *np = s->n_assigned_partitions;
        *rf = s->n_assigned_replicas;
        return KERR_NONE;
    }
    *np = s->num_partitions == -1 ? b->cfg->num_partitions : s->num_partitions;
    *rf = s->replication_factor == -1 ? b->cfg->default_replication_factor : s->replication_factor;
    if (*np <= 0) {
        *msg = "Number of partitions must be larger than 0.";
        return KERR_INVALID_PARTITIONS;
    }
    static char too_many[128];     /* event-loop thread */
    if (topic_partition_count_invalid(*np, too_many, sizeof(too_many))) {
        *msg = too_many;
        return KERR_INVALID_PARTITIONS;
    }
    if (*rf <= 0) {
        *msg = "Replication factor must be larger than 0.";
        return KERR_INVALID_REPLICATION_FACTOR;
    }
    int nb;
    mc_brokers(&nb);
    if (*rf > nb) {
        static char text[128];     /* event-loop thread */
        snprintf(text, sizeof(text), "Replication factor: %d larger than available brokers: %d.", *rf, nb);
        *msg = text;
        return KERR_INVALID_REPLICATION_FACTOR;
    }
    return ta_check_racks(msg);
}

/* Event-loop thread: the checks Kafka's admin path makes before writing,
 * in its order (a topic being deleted is out of the metadata cache, so
 * its name fails only after the assignment step, as in
 * AdminZkClient.validateTopicCreate). */
static int16_t check_create(broker_t *b, const topic_spec_t *s, int32_t *np, int16_t *rf,
                            const char **msg)
{
    if ((*msg = topic_name_invalid(s->name, (int)strlen(s->name))))
        return KERR_INVALID_TOPIC_EXCEPTION;
    const mc_topic_t *old = mc_find_topic(s->name);
    if ((old && !old->deleting) || topic_admin_creating(s->name)) {
        *msg = exists_message(s->name, false);
        return KERR_TOPIC_ALREADY_EXISTS;
    }
    int16_t err = check_create_shape(b, s, np, rf, msg);
    if (err)
        return err;
    if (old) {
        *msg = exists_message(s->name, true);
        return KERR_TOPIC_ALREADY_EXISTS;
    }
    return topic_config_validate(s->config_keys, s->config_values, s->n_configs, msg);
}

/* ZooKeeper thread: creates a persistent znode (or, with overwrite, sets an
 * existing one), through connection loss and session expiry. */
static int create_retrying(zk_session_t *zs, const char *path, const char *data, bool overwrite)
{
    int len = data ? (int)strlen(data) : -1;
    int rc, tries = 0;
    do {
        rc = zoo_create(zk_handle(zs), path, data, len, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
        if (rc == ZNODEEXISTS && overwrite)
            rc = zoo_set(zk_handle(zs), path, data, len, -1);
    } while (controller_should_retry(rc, &tries));
    return rc;
}

void ta_write_each(admin_job_t *j, bool (*write_one)(admin_job_t *j, int i, zk_session_t *zs,
                                                 topic_result_t *res))
{
    zk_session_t *zs = controller_session();
    char **written = xcalloc((size_t)j->n + 1, sizeof(char *));
    int n_written = 0;
    for (int i = 0; i < j->n; i++)
        if (write_one(j, i, zs, &j->results[j->index[i]]))
            written[n_written++] = j->names[i];
    j->loaded = controller_load_topics(written, n_written);
    j->n_loaded = n_written;
    if (controller_is_active())
        cs_on_topics(j->loaded, n_written);     /* LeaderAndIsr to the replicas */
    free(written);
}

/* The config znode, then the assignment znode.
 * @locality the ZooKeeper thread
 * @locks none (the job owns its topics)
 */
static bool create_one(admin_job_t *j, int i, zk_session_t *zs, topic_result_t *res)
{
    char path[ZK_PATH_MAX];
    struct Stat st;
    int rc, tries = 0;
    /* A topic being deleted is no longer in the metadata cache: its name
     * is refused here (AdminZkClient.validateTopicCreate). */
    snprintf(path, sizeof(path), "/admin/delete_topics/%s", j->names[i]);
    do
        rc = zoo_exists(zk_handle(zs), path, 0, &st);
    while (controller_should_retry(rc, &tries));
    if (rc == ZOK) {
        ta_set_result(res, KERR_TOPIC_ALREADY_EXISTS, NULL);
        snprintf(res->message, sizeof(res->message), "Topic '%.249s' is marked for deletion.",
                 j->names[i]);
        return false;
    }
    snprintf(path, sizeof(path), "/config/topics/%s", j->names[i]);
    rc = create_retrying(zs, path, j->config_json[i], true);
    if (rc != ZOK) {
        log_error("controller", "Cannot write %s: %s", path, zerror(rc));
        ta_set_result(res, KERR_UNKNOWN_SERVER_ERROR, "Cannot write topic config to ZooKeeper");
        return false;
    }
    char *assignment = zkl_topic_assignment(j->planned[i]);
    snprintf(path, sizeof(path), "/brokers/topics/%s", j->names[i]);
    rc = create_retrying(zs, path, assignment, false);
    free(assignment);
    if (rc == ZNODEEXISTS) {
        ta_set_result(res, KERR_TOPIC_ALREADY_EXISTS, NULL);
        snprintf(res->message, sizeof(res->message), "Topic '%.249s' already exists.", j->names[i]);
        return false;
    }
    if (rc != ZOK) {
        log_error("controller", "Cannot write %s: %s", path, zerror(rc));
        ta_set_result(res, KERR_UNKNOWN_SERVER_ERROR, "Cannot write topic assignment to ZooKeeper");
        return false;
    }
    log_info("controller", "Created topic %s with %d partitions and replication factor %d",
             j->names[i], j->planned[i]->n_partitions,
             j->planned[i]->n_partitions ? j->planned[i]->parts[0].n_replicas : 0);
    return true;
}

/* @locality the ZooKeeper thread
 * @locks none (the job owns its topics) */
static void create_run(void *arg)
{
    ta_write_each(arg, create_one);
}

/* The job's topics are in (or out of) the cache: the caller hears of it.
 * @locality the event-loop thread
 * @locks none
 */
static void job_answer(admin_job_t *j)
{
    if (j->wait_timer) {
        event_free(j->wait_timer);
        for (admin_job_t **pp = &waiting; *pp; pp = &(*pp)->next_waiting)
            if (*pp == j) {
                *pp = j->next_waiting;
                break;
            }
    }
    j->wait_timer = NULL;
    for (int i = 0; j->is_create && i < j->n; i++)
        creating_set(j->names[i], false);
    if (j->done)
        j->done(j->b, j->arg, j->results, j->n_results);
    job_free(j);
}

/* Every partition of the created topics has a leader in the cache, and
 * those led here have taken up leadership (the controller's LeaderAndIsr
 * came back to this broker): as Kafka's CreateTopics, which answers once
 * the new leaders are known, so a client producing at once is not refused. */
bool ta_leaders_ready(const admin_job_t *j)
{
    int32_t me = j->b->cfg->broker_id;
    for (int i = 0; i < j->n; i++) {
        const mc_topic_t *t = mc_find_topic(j->names[i]);
        if (j->results[j->index[i]].error != KERR_NONE || !t)
            continue;
        for (int p = 0; p < t->n_partitions; p++) {
            if (t->parts[p].leader < 0)
                return false;
            const partition_t *pp = t->parts[p].leader == me ? rm_partition(t->name, p) : NULL;
            if (t->parts[p].leader == me && (!pp || !pp->log || pp->leader != me))
                return false;
        }
    }
    return true;
}

static void wait_ready(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    admin_job_t *j = arg;
    if (j->ready(j) || j->b->shutting_down) {
        job_answer(j);
        return;
    }
    if (mono_ms() >= j->wait_deadline) {
        if (j->timed_out)
            j->timed_out(j);
        job_answer(j);
        return;
    }
    struct timeval tv = { 0, 5000 };
    evtimer_add(j->wait_timer, &tv);
}

/* Answers once ready(j) holds, or at the deadline (after timed_out). */
void ta_answer_when(admin_job_t *j, bool (*ready)(const admin_job_t *j), int64_t within_ms,
                        void (*timed_out)(admin_job_t *j))
{
    j->ready = ready;
    j->timed_out = timed_out;
    if (ready(j)) {
        job_answer(j);
        return;
    }
    j->wait_deadline = mono_ms() + within_ms;
    j->wait_timer = evtimer_new(j->b->base, wait_ready, j);
    j->next_waiting = waiting;
    waiting = j;
    wait_ready(-1, 0, j);
}

static void create_applied(void *arg)
{
    ta_answer_when(arg, ta_leaders_ready, 10000, NULL);
}

void topic_admin_shutdown(void)
{
    while (waiting)
        job_answer(waiting);
}

/*
 * @locality the event-loop thread
 * @locks none
 */
void ta_apply_loaded(admin_job_t *j, loop_fn applied)
{
    metadata_update_t *u = metadata_update_new();
    for (int i = 0; i < j->n_loaded; i++) {
        if (j->loaded[i])
            metadata_update_add_topic(u, j->loaded[i]);
        j->loaded[i] = NULL;
    }
    metadata_apply(j->b, u, applied, j);
}

static void create_done(void *arg)
{
    ta_apply_loaded(arg, create_applied);
}

int topic_admin_create(broker_t *b, const topic_spec_t *specs, int n, bool validate_only,
                       mutation_quota_t *quota, topic_result_t *results, topics_done_fn done,
                       void *arg)
{
    admin_job_t *j = NULL;
    int32_t *np = xcalloc((size_t)n + 1, sizeof(int32_t));
    int16_t *rf = xcalloc((size_t)n + 1, sizeof(int16_t));
    for (int i = 0; i < n; i++) {
        const char *msg = NULL;
        int16_t err = check_create(b, &specs[i], &np[i], &rf[i], &msg);
        ta_set_result(&results[i], err, err ? msg : NULL);
    }
    if (!validate_only)
        ta_charge_creations(specs, n, np, quota, results);
    for (int i = 0; i < n; i++) {
        if (results[i].error || validate_only)
            continue;
        if (!j) {
            j = ta_job_new(b, n, done, arg);
            j->is_create = true;
        }
        j->index[j->n] = i;
        j->names[j->n] = xstrdup(specs[i].name);
        j->planned[j->n] = specs[i].replicas ? planned_as_given(&specs[i])
                                             : plan_topic(specs[i].name, np[i], rf[i]);
        j->config_json[j->n] = zkl_topic_config((const char *const *)specs[i].config_keys,
                                                (const char *const *)specs[i].config_values,
                                                specs[i].n_configs);
        j->n++;
    }
    free(np);
    free(rf);
    int submitted = ta_job_submit(j, create_run, create_done, results, n);
    for (int i = 0; i < submitted; i++)
        creating_set(j->names[i], true);
    return submitted;
}

/* ZooKeeper thread: the deletion markers, and the deletion itself when this
 * @locality the ZooKeeper thread
 * @locks none (the job owns its names)
 * broker is the controller. */
static void delete_run(void *arg)
{
    admin_job_t *j = arg;
    zk_session_t *zs = controller_session();
    for (int i = 0; i < j->n; i++) {
        char path[ZK_PATH_MAX];
        snprintf(path, sizeof(path), "/admin/delete_topics/%s", j->names[i]);
        int rc = create_retrying(zs, path, NULL, false);
        if (rc != ZOK && rc != ZNODEEXISTS) {
            log_error("controller", "Cannot create %s: %s", path, zerror(rc));
            ta_set_result(&j->results[j->index[i]], KERR_UNKNOWN_SERVER_ERROR, NULL);
        }
    }
    if (controller_is_active())
        topic_admin_process_deletions(j->b->cfg->delete_topic_enable);
}

/*
 * @locality the event-loop thread
 * @locks none
 */
/* As Kafka's DeleteTopics: done once no topic of the job is in the cache
 * any more (or the controller has marked it for deletion there). */
static bool topics_gone(const admin_job_t *j)
{
    for (int i = 0; i < j->n; i++) {
        const mc_topic_t *t = mc_find_topic(j->names[i]);
        if (j->results[j->index[i]].error == KERR_NONE && t && !t->deleting)
            return false;
    }
    return true;
}

static void deletion_timed_out(admin_job_t *j)
{
    for (int i = 0; i < j->n; i++) {
        topic_result_t *r = &j->results[j->index[i]];
        const mc_topic_t *t = mc_find_topic(j->names[i]);
        if (r->error == KERR_NONE && t && !t->deleting)
            ta_set_result(r, KERR_REQUEST_TIMED_OUT, NULL);
    }
}

/* The controller's UpdateMetadata marks the topics (LeaderDuringDelete).
 * @locality the event-loop thread
 * @locks none
 */
static void delete_done(void *arg)
{
    admin_job_t *j = arg;
    if (j->timeout_ms <= 0) {
        job_answer(j);      /* timeout_ms <= 0: the deletion is only started */
        return;
    }
    ta_answer_when(j, topics_gone, j->timeout_ms, deletion_timed_out);
}

int topic_admin_delete(broker_t *b, char **names, int n, int32_t timeout_ms,
                       mutation_quota_t *quota, topic_result_t *results, topics_done_fn done,
                       void *arg)
{
    admin_job_t *j = NULL;
    for (int i = 0; i < n; i++) {
        int16_t err = !names[i] ? KERR_INVALID_TOPIC_EXCEPTION
                      : !mc_topic_visible(mc_find_topic(names[i])) ? KERR_UNKNOWN_TOPIC_OR_PARTITION
                      : !b->cfg->delete_topic_enable ? KERR_TOPIC_DELETION_DISABLED : KERR_NONE;
        ta_set_result(&results[i], err, NULL);
    }
    ta_charge_deletions(names, n, quota, results);
    for (int i = 0; i < n; i++) {
        if (results[i].error)
            continue;
        if (!j) {
            j = ta_job_new(b, n, done, arg);
            j->timeout_ms = timeout_ms;
        }
        j->index[j->n] = i;
        j->names[j->n] = xstrdup(names[i]);
        j->n++;
    }
    return ta_job_submit(j, delete_run, delete_done, results, n);
}

/* ---- ZooKeeper thread, as controller ---- */

/* A new partition: ISR = its live replicas, leader = the first of them. */
static void elect_initial_leader(mc_partition_t *p, const int32_t *live, int n_live)
{
    free(p->isr);
    p->isr = xcalloc((size_t)p->n_replicas + 1, sizeof(int32_t));
    p->n_isr = 0;
    for (int r = 0; r < p->n_replicas; r++)
        for (int l = 0; l < n_live; l++)
            if (live[l] == p->replicas[r])
                p->isr[p->n_isr++] = p->replicas[r];
    p->leader = p->n_isr > 0 ? p->isr[0] : -1;
    p->leader_epoch = 0;
}

void topic_admin_assign_topic_id(mc_topic_t *t)
{
    static const kuuid_t none;
    if (memcmp(&t->id, &none, sizeof(none)) || !controller_is_active())
        return;
    t->id = zkl_random_uuid();
    char path[ZK_PATH_MAX], id[23];
    snprintf(path, sizeof(path), "/brokers/topics/%s", t->name);
    char *json = zkl_topic_assignment(t);
    zoo_op_t ops[2];
    zoo_op_result_t res[2];
    struct Stat st;
    zoo_check_op_init(&ops[0], "/controller_epoch", controller_epoch_zkversion());
    zoo_set_op_init(&ops[1], path, json, (int)strlen(json), -1, &st);
    int rc = zoo_multi(zk_handle(controller_session()), 2, ops, res);
    free(json);
    zkl_uuid_to_base64(&t->id, id);
    if (rc == ZOK)
        log_info("controller", "Assigned topic id %s to %s (created without one)", id, t->name);
    else
        log_warn("controller", "Cannot record topic id %s of %s: %s", id, t->name, zerror(rc));
}

void topic_admin_create_partition_states(mc_topic_t *t, const int32_t *live, int n_live)
{
    zk_session_t *zs = controller_session();
    int missing = 0;
    for (int p = 0; p < t->n_partitions; p++)
        missing += t->parts[p].zk_version < 0;
    if (!missing || !controller_is_active())
        return;
    char path[ZK_PATH_MAX];
    snprintf(path, sizeof(path), "/brokers/topics/%s/partitions", t->name);
    if (zk_create_persistent_path(zs, path) < 0)
        return;
    /* One pipelined round for /partitions/<p>, one for the fenced states. */
    zk_multi_t *m = xcalloc((size_t)missing, sizeof(*m));
    zoo_op_t *ops = xcalloc((size_t)missing * 2, sizeof(*ops));
    zoo_op_result_t *res = xcalloc((size_t)missing * 2, sizeof(*res));
    char (*paths)[ZK_PATH_MAX] = xcalloc((size_t)missing, ZK_PATH_MAX);
    char (*states)[ZK_PATH_MAX] = xcalloc((size_t)missing, ZK_PATH_MAX);
    char **data = xcalloc((size_t)missing, sizeof(char *));
    int32_t *idx = xcalloc((size_t)missing, sizeof(int32_t));
    int k = 0;
    for (int p = 0; p < t->n_partitions; p++) {
        if (t->parts[p].zk_version >= 0)
            continue;
        idx[k] = p;
        snprintf(paths[k], ZK_PATH_MAX, "/brokers/topics/%s/partitions/%d", t->name, p);
        snprintf(states[k], ZK_PATH_MAX, "%s/state", paths[k]);
        zoo_create_op_init(&ops[k], paths[k], NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
        m[k] = (zk_multi_t){ &ops[k], &res[k], 1, 0 };
        k++;
    }
    zk_multi_many(zs, m, missing);
    int32_t epoch = controller_epoch_now();
    int32_t epoch_version = controller_epoch_zkversion();
    for (k = 0; k < missing; k++) {
        mc_partition_t *pp = &t->parts[idx[k]];
        elect_initial_leader(pp, live, n_live);
        data[k] = zkl_partition_state(epoch, pp->leader, 0, pp->isr, pp->n_isr);
        zoo_check_op_init(&ops[2 * k], "/controller_epoch", epoch_version);
        zoo_create_op_init(&ops[2 * k + 1], states[k], data[k], (int)strlen(data[k]),
                           &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
        m[k] = (zk_multi_t){ &ops[2 * k], &res[2 * k], 2, 0 };
    }
    zk_multi_many(zs, m, missing);
    for (k = 0; k < missing; k++) {
        mc_partition_t *pp = &t->parts[idx[k]];
        if (m[k].rc == ZOK || m[k].rc == ZNODEEXISTS) {
            pp->zk_version = 0;
            log_info("controller", "Partition %s-%d online: leader %d, isr %d replicas", t->name,
                     idx[k], pp->leader, pp->n_isr);
        } else {
            log_error("controller", "Cannot create %s: %s", states[k], zerror(m[k].rc));
        }
        free(data[k]);
    }
    free(m);
    free(ops);
    free(res);
    free(paths);
    free(states);
    free(data);
    free(idx);
}

void topic_admin_process_deletions(bool delete_enabled)
{
    zk_session_t *zs = controller_session();
    struct String_vector kids;
    if (zk_children(zs, "/admin/delete_topics", true, &kids) != ZOK)
        return;
    for (int i = 0; i < kids.count; i++) {
        const char *t = kids.data[i];
        if (delete_enabled && cs_find_topic(t)) {
            td_enqueue(t);          /* the znodes go once every replica is deleted */
            continue;
        }
        if (!delete_enabled)
            log_warn("controller", "Ignoring deletion of topic %s: delete.topic.enable is false", t);
        else
            log_info("controller", "Ignoring deletion of topic %s, which does not exist", t);
        char path[ZK_PATH_MAX];
        snprintf(path, sizeof(path), "/admin/delete_topics/%s", t);
        int rc = zoo_delete(zk_handle(zs), path, -1);
        if (rc != ZOK && rc != ZNONODE)
            log_warn("controller", "Cannot remove %s: %s", path, zerror(rc));
    }
    deallocate_String_vector(&kids);
}
