/*
 * scram.h - SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802/7677) as Kafka
 * keeps and checks them: the credential a user has (salt, stored key,
 * server key, iterations) in the text form Kafka writes to
 * /config/users/<user> ("salt=<b64>,stored_key=<b64>,server_key=<b64>,
 * iterations=<n>"), deriving one from a salted password (what
 * AlterUserScramCredentials carries), the key arithmetic of a server's
 * exchange, and Kafka's sanitized user names (its Sanitizer: URL-encoded,
 * with "*" as %2A and space as %20) used in znode paths.
 *
 * Pure functions, no state: any thread.
 */
#ifndef SAMSA_SCRAM_H
#define SAMSA_SCRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Kafka's ScramMechanism types (the protocol's mechanism byte). */
typedef enum scram_mech {
    SCRAM_UNKNOWN = 0,
    SCRAM_SHA_256 = 1,
    SCRAM_SHA_512 = 2,
} scram_mech_t;

#define SCRAM_KEY_MAX 64            /* SHA-512 */
#define SCRAM_SALT_MAX 128
#define SCRAM_MIN_ITERATIONS 4096   /* both mechanisms (Kafka's minIterations) */
#define SCRAM_MAX_ITERATIONS 16384  /* what AlterUserScramCredentials accepts */

typedef struct scram_credential {
    uint8_t salt[SCRAM_SALT_MAX];
    size_t salt_len;
    uint8_t stored_key[SCRAM_KEY_MAX];
    uint8_t server_key[SCRAM_KEY_MAX];
    size_t key_len;
    int32_t iterations;
} scram_credential_t;

/* "SCRAM-SHA-256" / "SCRAM-SHA-512" and back; SCRAM_UNKNOWN / NULL. */
scram_mech_t scram_mech_by_name(const char *name);
const char *scram_mech_name(scram_mech_t m);
/* The digest length of m (32 or 64), 0 if unknown. */
size_t scram_key_len(scram_mech_t m);

/* Parses Kafka's text form; -1 if it is not exactly that. */
int scram_credential_parse(scram_mech_t m, const char *text, scram_credential_t *out);
/* Kafka's text form (malloc'd). */
char *scram_credential_format(const scram_credential_t *c);
/* The credential of a salted password (Hi(password, salt, i)): client key
 * HMAC(sp, "Client Key"), stored key H(client key), server key
 * HMAC(sp, "Server Key"); -1 if the lengths do not fit. */
int scram_credential_from_salted(scram_mech_t m, const uint8_t *salt, size_t salt_len,
                                 const uint8_t *salted, size_t salted_len, int32_t iterations,
                                 scram_credential_t *out);
/* Hi() itself (PBKDF2-HMAC); for tests and tools. */
int scram_salted_password(scram_mech_t m, const char *password, const uint8_t *salt,
                          size_t salt_len, int32_t iterations, uint8_t *out);

/* HMAC(key, msg) into out (key_len bytes); -1 on an OpenSSL failure. */
int scram_hmac(scram_mech_t m, const uint8_t *key, size_t key_len, const void *msg,
               size_t msg_len, uint8_t *out);
/* H(msg) into out. */
int scram_hash(scram_mech_t m, const void *msg, size_t len, uint8_t *out);

/* Standard base64 (with padding) of len bytes into out (4*ceil(len/3)+1). */
void scram_b64_encode(const uint8_t *in, size_t len, char *out);
/* Decodes standard base64 of exactly text_len chars; the length, or -1. */
int scram_b64_decode(const char *text, size_t text_len, uint8_t *out, size_t cap);

/* Kafka's Sanitizer.sanitize / desanitize (malloc'd; NULL if the input is
 * not validly encoded). */
char *kafka_sanitize(const char *name);
char *kafka_desanitize(const char *name);

#endif
