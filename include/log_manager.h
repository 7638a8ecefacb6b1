/*
 * log_manager.h - every log directory of this broker: meta.properties, the
 * .lock, the clean-shutdown marker, checkpoint files, and the set of
 * partition logs.  Event-loop thread only (start-up and shutdown run on the
 * main thread before/after the loop, which is the same thread).
 */
#ifndef SAMSA_LOG_MANAGER_H
#define SAMSA_LOG_MANAGER_H

#include <stdbool.h>
#include <stdint.h>

#include "broker_config.h"
#include "log_partition.h"

/* Opens every log dir, checks/writes meta.properties for broker_id and
 * cluster_id, and loads (recovering as needed) every partition log found.
 * Returns -1 with a clear log line on a fatal problem. */
int logmgr_start(const broker_config_t *cfg, const char *cluster_id);
partition_log_t *logmgr_get(const char *topic, int32_t partition);
/* The broker-wide log settings (a topic's overrides not applied). */
log_settings_t logmgr_default_settings(void);
/* The log for topic-partition, created if missing. */
partition_log_t *logmgr_get_or_create(const char *topic, int32_t partition);
/* The log for topic-partition, created on the disk thread if missing (a
 * new directory and segment files take milliseconds on a busy file system):
 * done(pl, arg) runs on the event loop with the registered log, or NULL on
 * failure.  At once (inline) when the log exists or no disk thread runs. */
void logmgr_open_async(const char *topic, int32_t partition, const log_settings_t *settings,
                       void (*done)(partition_log_t *pl, void *arg), void *arg);
void logmgr_delete(const char *topic, int32_t partition);
/* The index of the configured log dir named `path` (compared as Java
 * compares absolute Files), or -1 (Kafka's LogDirNotFoundException). */
int logmgr_dir_index(const char *path);
const char *logmgr_dir_path(int dir_index);
/* The log dir holding topic-partition's log, or -1. */
int logmgr_dir_of(const char *topic, int32_t partition);
/* Hands over each future log found at start-up (a move between log dirs
 * a stop interrupted: its partition, destination dir and directory). */
void logmgr_take_interrupted_moves(void (*fn)(const char *topic, int32_t partition,
                                               int dir_index, const char *path, void *arg),
                                    void *arg);
/* Remembers the dir for a log not created yet (AlterReplicaLogDirs before
 * LeaderAndIsr; Kafka's maybeUpdatePreferredLogDir). */
void logmgr_prefer_dir(const char *topic, int32_t partition, int dir_index);
/* Puts pl (in dir_index) in place of the registered log of its partition
 * and returns that one, which the caller disposes of (log_mover.c). */
partition_log_t *logmgr_replace(partition_log_t *pl, int dir_index);
/* Calls fn for each loaded log. */
void logmgr_foreach(void (*fn)(partition_log_t *pl, void *arg), void *arg);
/* Writes the recovery-point, replication (high watermark) and log-start
 * checkpoints of every dir (through the disk thread once it runs). */
int logmgr_checkpoint(void);
/* Where replication-offset-checkpoint's values come from (the replica
 * manager's high watermarks); the log end offset until set. */
void logmgr_set_high_watermark_source(int64_t (*hw_of)(const partition_log_t *pl));
/* Flushes logs with unflushed data older than interval_ms
 * (log.flush.interval.ms). */
void logmgr_flush_older_than(int64_t interval_ms);
/* Flushes and closes everything and writes .kafka_cleanshutdown. */
void logmgr_shutdown(void);
/* Parses "<topic>-<partition>"; returns 0 and fills the outputs. */
int logmgr_parse_dir_name(const char *name, char *topic, size_t topic_size, int32_t *partition);

/* Offset checkpoint files (version 0 text format); exposed for tests. */
typedef struct checkpoint_entry {
    char topic[256];
    int32_t partition;
    int64_t offset;
} checkpoint_entry_t;
int checkpoint_read(const char *path, checkpoint_entry_t **out);
int checkpoint_write(const char *path, const checkpoint_entry_t *e, int n);

#endif
