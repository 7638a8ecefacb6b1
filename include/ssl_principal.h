/*
 * ssl_principal.h - ssl.principal.mapping.rules as Kafka's
 * SslPrincipalMapper applies them to a client certificate's subject
 * (RFC 2253): "RULE:<pattern>/<replacement>/[LU]" rules and DEFAULT,
 * comma-separated, the first whose pattern matches the whole subject
 * giving the name (Java's replaceAll with $n back-references, then lower
 * or upper case), DEFAULT the subject itself; no rule matching fails the
 * authentication.  Patterns are Perl-compatible (PCRE2), which covers the
 * Java regular expressions such rules use.
 *
 * Built by the main thread at start-up, read-only afterwards.
 */
#ifndef SAMSA_SSL_PRINCIPAL_H
#define SAMSA_SSL_PRINCIPAL_H

#include <stddef.h>

typedef struct ssl_principal_mapper ssl_principal_mapper_t;

/* rules NULL means "DEFAULT".  NULL with Kafka's message in err for an
 * invalid rule or pattern. */
ssl_principal_mapper_t *ssl_principal_mapper_new(const char *rules, char *err, size_t errlen);
void ssl_principal_mapper_free(ssl_principal_mapper_t *m);
/* The name for a subject into out: 0, or -1 when no rule applies (why
 * says so, as Kafka's NoMatchingRule). */
int ssl_principal_map(const ssl_principal_mapper_t *m, const char *subject, char *out,
                      size_t outlen, char *why, size_t whylen);

#endif
