/*
 * sasl_client.h - the client side of SASL/PLAIN and SASL/SCRAM-SHA-256/512
 * (RFC 4616, RFC 5802) as Kafka's clients run them, for a broker talking
 * to other brokers: the tokens to send and the checks of the server's
 * (its nonce, iteration count and final signature).
 *
 * A sasl_client_t belongs to the one thread running the exchange.
 */
#ifndef SAMSA_SASL_CLIENT_H
#define SAMSA_SASL_CLIENT_H

#include <stddef.h>
#include <stdint.h>

typedef struct sasl_client sasl_client_t;

/* NULL if the mechanism is not PLAIN or SCRAM-SHA-256/512. */
sasl_client_t *sasl_client_new(const char *mechanism, const char *user, const char *password);
void sasl_client_free(sasl_client_t *x);
/*
 * Takes the server's last token (NULL, 0 before the first) and writes the
 * next one to send into out (*out_len: its capacity, then its length).
 * 1: send it and call again with the answer; 0: the exchange is complete
 * (nothing more to send); -1: failed, err says why.
 */
int sasl_client_step(sasl_client_t *x, const uint8_t *in, size_t in_len, uint8_t *out,
                     size_t *out_len, char *err, size_t errlen);

#endif
