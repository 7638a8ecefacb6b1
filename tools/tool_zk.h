/*
 * tool_zk.h - the ZooKeeper session of the tools' --zookeeper modes
 * (Kafka 2.x's direct ZooKeeper access).  Tools are single-threaded; the
 * session's watch events are not used.
 */
#ifndef SAMSA_TOOL_ZK_H
#define SAMSA_TOOL_ZK_H

#include "zk_session.h"

/* Connects to connect (host:port[/chroot]) within 30 s, the broker's
 * INFO log lines silenced; NULL with a message on stderr. */
zk_session_t *tool_zk_open(const char *connect);

#endif
