/*
 * cg_admin.c - owns samsa-consumer-groups' librdkafka handles: an admin
 * handle for the group APIs and a consumer handle (read_uncommitted, no
 * group) for log offsets.  See cg_admin.h.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cg_admin.h"
#include "tool_common.h"

static struct {
    const char *prog;
    rd_kafka_t *admin;
    rd_kafka_t *consumer;
    rd_kafka_queue_t *q;
} cg;

void cg_open(const char *prog, const char *bootstrap, const char *command_config)
{
    cg.prog = prog;
    cg.admin = tool_admin_new(prog, bootstrap, command_config);
    cg.q = rd_kafka_queue_new(cg.admin);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    tool_conf_kv(prog, conf, "bootstrap.servers", bootstrap);
    if (command_config)
        tool_conf_file(prog, conf, command_config);
    tool_conf_kv(prog, conf, "isolation.level", "read_uncommitted");
    tool_conf_kv(prog, conf, "enable.auto.commit", "false");
    char err[512];
    cg.consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (!cg.consumer)
        tool_die(prog, "%s", err);
}

void cg_close(void)
{
    if (cg.q)
        rd_kafka_queue_destroy(cg.q);
    if (cg.consumer)
        rd_kafka_destroy(cg.consumer);
    if (cg.admin)
        rd_kafka_destroy(cg.admin);
    memset(&cg, 0, sizeof(cg));
}

const char *cg_error_text(rd_kafka_resp_err_t code)
{
    static char buf[256];
    switch ((int)code) {
    case 68: return "org.apache.kafka.common.errors.GroupNotEmptyException: The group is not empty.";
    case 69: return "org.apache.kafka.common.errors.GroupIdNotFoundException: The group id does not exist.";
    case 86: return "org.apache.kafka.common.errors.GroupSubscribedToTopicException: Deleting offsets of a "
                    "topic is forbidden while the consumer group is actively subscribed to it.";
    case 15: return "org.apache.kafka.common.errors.CoordinatorNotAvailableException: The coordinator is "
                    "not available.";
    case 25: return "org.apache.kafka.common.errors.UnknownMemberIdException: The coordinator is not aware "
                    "of this member.";
    default:
        snprintf(buf, sizeof(buf), "%s", rd_kafka_err2str(code));
        return buf;
    }
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

rd_kafka_event_t *cg_list_groups(const char *state,
                                 const rd_kafka_ConsumerGroupListing_t ***groups, size_t *n)
{
    for (int attempt = 0;; attempt++) {
        rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(cg.admin, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS);
        if (state) {
            rd_kafka_consumer_group_state_t want = RD_KAFKA_CONSUMER_GROUP_STATE_UNKNOWN;
            for (int s = 0; s < RD_KAFKA_CONSUMER_GROUP_STATE__CNT; s++)
                if (!strcasecmp(rd_kafka_consumer_group_state_name(s), state))
                    want = s;
            rd_kafka_error_t *e = rd_kafka_AdminOptions_set_match_consumer_group_states(ao, &want, 1);
            if (e)
                tool_die(cg.prog, "%s", rd_kafka_error_string(e));
        }
        rd_kafka_ListConsumerGroups(cg.admin, ao, cg.q);
        rd_kafka_AdminOptions_destroy(ao);
        rd_kafka_event_t *ev = tool_admin_result(cg.prog, cg.q);
        const rd_kafka_ListConsumerGroups_result_t *res = rd_kafka_event_ListConsumerGroups_result(ev);
        size_t nerr;
        const rd_kafka_error_t **errs = rd_kafka_ListConsumerGroups_result_errors(res, &nerr);
        bool loading = false;
        for (size_t i = 0; i < nerr; i++)
            loading |= rd_kafka_error_code(errs[i]) == RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS;
        if (!loading || attempt == 150) {
            *groups = rd_kafka_ListConsumerGroups_result_valid(res, n);
            return ev;
        }
        /* Retriable, as Kafka's admin client treats it. */
        rd_kafka_event_destroy(ev);
        sleep_ms(200);
    }
}

rd_kafka_event_t *cg_describe(const char *group, const rd_kafka_ConsumerGroupDescription_t **out)
{
    rd_kafka_DescribeConsumerGroups(cg.admin, &group, 1, NULL, cg.q);
    rd_kafka_event_t *ev = tool_admin_result(cg.prog, cg.q);
    size_t n;
    const rd_kafka_ConsumerGroupDescription_t **d =
        rd_kafka_DescribeConsumerGroups_result_groups(rd_kafka_event_DescribeConsumerGroups_result(ev), &n);
    if (n != 1)
        tool_die(cg.prog, "DescribeGroups returned no group");
    const rd_kafka_error_t *e = rd_kafka_ConsumerGroupDescription_error(d[0]);
    if (e)
        tool_die(cg.prog, "Error: Executing consumer group command failed due to %s",
                 cg_error_text(rd_kafka_error_code(e)));
    *out = d[0];
    return ev;
}

/* The one group result of a group-offsets event, or exit. */
static rd_kafka_topic_partition_list_t *group_partitions(const rd_kafka_group_result_t **res, size_t n,
                                                         rd_kafka_resp_err_t *group_err)
{
    if (n != 1)
        tool_die(cg.prog, "the broker returned no result for the group");
    const rd_kafka_error_t *e = rd_kafka_group_result_error(res[0]);
    if (group_err)
        *group_err = e ? rd_kafka_error_code(e) : RD_KAFKA_RESP_ERR_NO_ERROR;
    else if (e)
        tool_die(cg.prog, "Error: Executing consumer group command failed due to %s",
                 cg_error_text(rd_kafka_error_code(e)));
    const rd_kafka_topic_partition_list_t *p = rd_kafka_group_result_partitions(res[0]);
    return p ? rd_kafka_topic_partition_list_copy(p) : rd_kafka_topic_partition_list_new(0);
}

rd_kafka_topic_partition_list_t *cg_committed(const char *group)
{
    rd_kafka_ListConsumerGroupOffsets_t *req = rd_kafka_ListConsumerGroupOffsets_new(group, NULL);
    rd_kafka_ListConsumerGroupOffsets(cg.admin, &req, 1, NULL, cg.q);
    rd_kafka_ListConsumerGroupOffsets_destroy(req);
    rd_kafka_event_t *ev = tool_admin_result(cg.prog, cg.q);
    size_t n;
    const rd_kafka_group_result_t **res =
        rd_kafka_ListConsumerGroupOffsets_result_groups(rd_kafka_event_ListConsumerGroupOffsets_result(ev), &n);
    rd_kafka_topic_partition_list_t *out = group_partitions(res, n, NULL);
    rd_kafka_event_destroy(ev);
    return out;
}

rd_kafka_topic_partition_list_t *cg_alter_offsets(const char *group,
                                                  const rd_kafka_topic_partition_list_t *offsets)
{
    rd_kafka_AlterConsumerGroupOffsets_t *req = rd_kafka_AlterConsumerGroupOffsets_new(group, offsets);
    rd_kafka_AlterConsumerGroupOffsets(cg.admin, &req, 1, NULL, cg.q);
    rd_kafka_AlterConsumerGroupOffsets_destroy(req);
    rd_kafka_event_t *ev = tool_admin_result(cg.prog, cg.q);
    size_t n;
    const rd_kafka_group_result_t **res = rd_kafka_AlterConsumerGroupOffsets_result_groups(
        rd_kafka_event_AlterConsumerGroupOffsets_result(ev), &n);
    rd_kafka_resp_err_t err;
    rd_kafka_topic_partition_list_t *out = group_partitions(res, n, &err);
    rd_kafka_event_destroy(ev);
    for (int i = 0; err && i < out->cnt; i++)
        if (!out->elems[i].err)
            out->elems[i].err = err;
    return out;
}

rd_kafka_topic_partition_list_t *cg_delete_offsets(const char *group,
                                                   const rd_kafka_topic_partition_list_t *parts,
                                                   rd_kafka_resp_err_t *group_err)
{
    rd_kafka_DeleteConsumerGroupOffsets_t *req = rd_kafka_DeleteConsumerGroupOffsets_new(group, parts);
    rd_kafka_DeleteConsumerGroupOffsets(cg.admin, &req, 1, NULL, cg.q);
    rd_kafka_DeleteConsumerGroupOffsets_destroy(req);
    rd_kafka_event_t *ev = tool_admin_result(cg.prog, cg.q);
    size_t n;
    const rd_kafka_group_result_t **res = rd_kafka_DeleteConsumerGroupOffsets_result_groups(
        rd_kafka_event_DeleteConsumerGroupOffsets_result(ev), &n);
    rd_kafka_topic_partition_list_t *out = group_partitions(res, n, group_err);
    rd_kafka_event_destroy(ev);
    return out;
}

rd_kafka_event_t *cg_delete_groups(const char *const *groups, int n, const rd_kafka_group_result_t ***res,
                                   size_t *nres)
{
    rd_kafka_DeleteGroup_t **dg = calloc((size_t)n + 1, sizeof(*dg));
    if (!dg)
        tool_die(cg.prog, "out of memory");
    for (int i = 0; i < n; i++)
        dg[i] = rd_kafka_DeleteGroup_new(groups[i]);
    rd_kafka_DeleteGroups(cg.admin, dg, (size_t)n, NULL, cg.q);
    rd_kafka_DeleteGroup_destroy_array(dg, (size_t)n);
    free(dg);
    rd_kafka_event_t *ev = tool_admin_result(cg.prog, cg.q);
    *res = rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(ev), nres);
    return ev;
}

int64_t cg_log_offset(const char *topic, int32_t partition, int64_t ts)
{
    if (ts == -1 || ts == -2) {
        int64_t lo, hi;
        rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(cg.consumer, topic, partition, &lo, &hi, 30000);
        if (e)
            return -1;
        return ts == -1 ? hi : lo;
    }
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, partition)->offset = ts;
    rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(cg.consumer, l, 30000);
    int64_t off = e || l->elems[0].err ? -1 : l->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(l);
    return off;
}

int cg_partition_count(const char *topic)
{
    rd_kafka_topic_t *t = rd_kafka_topic_new(cg.consumer, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    int n = -1;
    if (t && rd_kafka_metadata(cg.consumer, 0, t, &md, 30000) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        md->topic_cnt == 1 && !md->topics[0].err)
        n = md->topics[0].partition_cnt;
    if (md)
        rd_kafka_metadata_destroy(md);
    if (t)
        rd_kafka_topic_destroy(t);
    return n;
}
