/*
 * sasl_scram.h - one connection's SASL/SCRAM-SHA-256/512 exchange on the
 * server side (Kafka's ScramSaslServer): two client messages in, two
 * server messages out, credentials from scram_store.h.
 * Event-loop thread.
 */
#ifndef SAMSA_SASL_SCRAM_H
#define SAMSA_SASL_SCRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scram.h"

typedef struct scram_exchange scram_exchange_t;

typedef enum scram_step { SCRAM_CONTINUE, SCRAM_COMPLETE, SCRAM_FAILED } scram_step_t;

scram_exchange_t *scram_exchange_new(scram_mech_t m);
void scram_exchange_free(scram_exchange_t *x);
/* Takes the client's next message; the server's answer goes to out (at
 * most *outlen bytes; *outlen set).  On SCRAM_FAILED why holds Kafka's
 * reason and *tell_client says whether Kafka shows it to the client. */
scram_step_t scram_exchange_step(scram_exchange_t *x, const uint8_t *in, size_t len, char *out,
                                 size_t *outlen, char *why, size_t whylen, bool *tell_client);
/* The authenticated user (once SCRAM_COMPLETE). */
const char *scram_exchange_user(const scram_exchange_t *x);

#endif
