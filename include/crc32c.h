/*
 * crc32c.h - CRC-32C (Castagnoli), the checksum of Kafka record batches and
 * producer-state snapshots.  Pure function; safe from any thread.
 */
#ifndef SAMSA_CRC32C_H
#define SAMSA_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

#endif
