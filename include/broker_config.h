/*
 * config.h - the broker's configuration, read from a Kafka server.properties
 * file with Kafka's key names and defaults.  Filled once at start-up by the
 * main thread and read-only afterwards, so every thread may read it.
 */
#ifndef SAMSA_BROKER_CONFIG_H
#define SAMSA_BROKER_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#define CONFIG_MAX_LISTENERS 8
#define CONFIG_MAX_LOG_DIRS 16

typedef struct listener {
    char name[64];          /* listener name, e.g. PLAINTEXT */
    char host[256];         /* "" = all interfaces */
    int port;
    int16_t security_protocol;  /* enum security_protocol (listeners.h) */
} listener_t;

typedef struct broker_config {
    int32_t broker_id;
    listener_t listeners[CONFIG_MAX_LISTENERS];
    int n_listeners;
    listener_t advertised[CONFIG_MAX_LISTENERS];
    int n_advertised;
    char inter_broker_listener[64];     /* an advertised listener's name */
    char *log_dirs[CONFIG_MAX_LOG_DIRS];
    int n_log_dirs;
    char *zk_connect;
    int zk_session_timeout_ms;
    int zk_connection_timeout_ms;
    int32_t num_partitions;
    int16_t default_replication_factor;
    bool auto_create_topics;
    int64_t log_segment_bytes;
    int64_t log_roll_ms;
    int32_t log_index_interval_bytes;
    int32_t log_index_size_max_bytes;
    int32_t message_max_bytes;
    int32_t socket_request_max_bytes;
    int32_t queued_max_requests;
    int64_t queued_max_request_bytes;   /* -1 = unbounded */
    int64_t log_flush_interval_messages;
    int64_t log_flush_interval_ms;
    int64_t log_flush_scheduler_interval_ms;
    int64_t checkpoint_interval_ms;     /* min of Kafka's checkpoint intervals */
    bool delete_topic_enable;
    int64_t log_retention_bytes;
    int64_t log_retention_check_ms;
    int64_t log_roll_jitter_ms;
    char *log_message_timestamp_type;   /* CreateTime | LogAppendTime */
    char *compression_type;
    char *log_cleanup_policy;
    int32_t min_insync_replicas;
    char *broker_rack;                  /* NULL if unset */
    /* Group coordinator and __consumer_offsets */
    int32_t offsets_topic_partitions;
    int16_t offsets_topic_rf;
    int64_t offsets_topic_segment_bytes;
    int64_t offsets_retention_ms;
    int64_t offsets_retention_check_ms;
    int32_t offset_metadata_max_bytes;
    int32_t group_initial_rebalance_delay_ms;
    int32_t group_min_session_timeout_ms;
    int32_t group_max_session_timeout_ms;
    int32_t group_max_size;
    int32_t offsets_commit_timeout_ms;  /* commits wait this long for their replication */
    /* Transaction coordinator and __transaction_state */
    int32_t txn_log_partitions;
    int16_t txn_log_rf;
    int32_t txn_log_min_isr;
    int64_t txn_log_segment_bytes;
    int32_t txn_max_timeout_ms;
    int64_t txn_abort_check_ms;         /* transaction.abort.timed.out.transaction.cleanup.interval.ms */
    int64_t txn_id_expiration_ms;
    int64_t txn_id_expiry_check_ms;     /* transaction.remove.expired.transaction.cleanup.interval.ms */
    int64_t log_cleaner_backoff_ms;
    bool log_cleaner_enable;
    int32_t log_cleaner_threads;            /* one cleaner thread runs; the buffer is split as Kafka splits it */
    int64_t log_cleaner_dedupe_buffer_size;
    double log_cleaner_load_factor;         /* log.cleaner.io.buffer.load.factor */
    /* Replication */
    int32_t num_replica_fetchers;
    int32_t max_incremental_fetch_session_cache_slots;  /* KIP-227 sessions kept */
    int32_t replica_fetch_wait_max_ms;
    int32_t replica_fetch_min_bytes;
    int32_t replica_fetch_max_bytes;
    int32_t fetch_max_bytes;            /* the most one Fetch answers */
    int32_t replica_fetch_response_max_bytes;
    int32_t replica_fetch_backoff_ms;
    int32_t replica_socket_timeout_ms;
    int64_t replica_lag_time_max_ms;
    int32_t controller_socket_timeout_ms;
    bool unclean_leader_election_enable;
    int32_t ibp;                        /* inter.broker.protocol.version as major*100+minor (3.9 -> 309) */
    bool auto_leader_rebalance_enable;
    bool txn_partition_verification_enable;     /* KIP-890 part 1 */
    int64_t leader_imbalance_check_interval_s;
    int32_t leader_imbalance_per_broker_percentage;
    bool controlled_shutdown_enable;
    int32_t controlled_shutdown_max_retries;
    int32_t controlled_shutdown_retry_backoff_ms;
    /* Every key=value from the file, for DescribeConfigs. */
    char **keys;
    char **values;
    int n_entries;
} broker_config_t;

/* Loads a properties file and applies "--override k=v" pairs.  Prints a
 * clear message to stderr and returns -1 on a fatal error. */
int config_load(broker_config_t *cfg, const char *path, char **overrides, int n_overrides);
/* Parses one properties text buffer into cfg (exposed for unit tests). */
int config_parse_text(broker_config_t *cfg, const char *text, const char *origin);
void config_defaults(broker_config_t *cfg);
int config_finish(broker_config_t *cfg);
void config_free(broker_config_t *cfg);
/* The value a key has in the file, or NULL. */
const char *config_get(const broker_config_t *cfg, const char *key);
/* Durations Kafka derives from several keys (ms, minutes, hours), read
 * through get(ctx, key): server.properties, or the dynamic layers. */
enum config_duration { CONFIG_RETENTION_MS, CONFIG_ROLL_MS, CONFIG_ROLL_JITTER_MS };
typedef const char *(*config_lookup_fn)(const void *ctx, const char *key);
int64_t config_duration_ms(enum config_duration which, config_lookup_fn get, const void *ctx);

#endif
