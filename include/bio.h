/*
 * bio.h - the disk thread (after Redis's bio.c): the slow file-system work
 * the event loop must not wait for.  fsync of a rolled segment, checkpoint
 * files (write, fsync, rename) and removal of deleted logs run here; each
 * job owns its inputs (a dup()ed descriptor, copied paths and entries), so
 * nothing it touches is shared with the loop.  Completions that change
 * loop state come back through loop_post().
 */
#ifndef SAMSA_BIO_H
#define SAMSA_BIO_H

#include <stdint.h>

#include "loop.h"
#include "log_manager.h"

/* Main thread, before the loop runs / after it stopped (drains first). */
void bio_start(loop_t *loop);
void bio_stop(void);
/* True while the disk thread runs (before: work is done inline). */
int bio_running(void);

/* Any loop code: fsyncs fd (which the job closes) and then, on the loop,
 * calls done(arg, ok).  `what` names the file for the error log line. */
void bio_fsync(int fd, const char *what, void (*done)(void *arg, int ok), void *arg);
/* Writes a checkpoint file atomically; takes ownership of entries. */
void bio_write_checkpoint(const char *path, checkpoint_entry_t *entries, int n);
/* rm -rf of a directory already renamed out of the way. */
void bio_remove_dir(const char *path);
/* Jobs queued or running. */
int bio_backlog(void);
/* Any other disk job: run(ctx) on the disk thread, done(ctx) on the loop
 * (both inline when no disk thread runs). */
void bio_submit(void (*run)(void *ctx), void (*done)(void *ctx), void *ctx);

#endif
