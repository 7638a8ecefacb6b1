/*
 * ssl_principal.c - owns ssl.principal.mapping.rules (ssl_principal.h):
 * splitting and parsing the rules as Kafka's SslPrincipalMapper does, and
 * applying them with PCRE2.
 */
#define _GNU_SOURCE
#define PCRE2_CODE_UNIT_WIDTH 8
#include <ctype.h>
#include <pcre2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssl_principal.h"
#include "util.h"

#define MAX_RULES 32

typedef struct rule {
    bool is_default;
    pcre2_code *re;
    char *replacement;
    int groups;
    char fold;                  /* 'L', 'U' or 0 */
} rule_t;

struct ssl_principal_mapper {
    rule_t rules[MAX_RULES];
    int n;
};

void ssl_principal_mapper_free(ssl_principal_mapper_t *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n; i++) {
        pcre2_code_free(m->rules[i].re);
        free(m->rules[i].replacement);
    }
    free(m);
}

/* Up to an unescaped '/' (escapes are kept, as Kafka keeps them); the
 * end of the part, or NULL if there is no '/'. */
static const char *part_end(const char *p)
{
    for (; *p && *p != '/'; p++)
        if (*p == '\\' && p[1])
            p++;
    return *p == '/' ? p : NULL;
}

static int add_rule(ssl_principal_mapper_t *m, const char *pat, size_t pat_len, const char *rep,
                    size_t rep_len, char fold, char *err, size_t errlen)
{
    if (m->n == MAX_RULES) {
        snprintf(err, errlen, "more than %d ssl.principal.mapping.rules", MAX_RULES);
        return -1;
    }
    rule_t *r = &m->rules[m->n];
    int code;
    PCRE2_SIZE at;
    r->re = pcre2_compile((PCRE2_SPTR)pat, pat_len, 0, &code, &at, NULL);
    if (!r->re) {
        char msg[160];
        pcre2_get_error_message(code, (PCRE2_UCHAR *)msg, sizeof(msg));
        snprintf(err, errlen, "Invalid rule pattern %.*s: %s at %zu", (int)pat_len, pat, msg,
                 (size_t)at);
        return -1;
    }
    uint32_t groups = 0;
    pcre2_pattern_info(r->re, PCRE2_INFO_CAPTURECOUNT, &groups);
    r->groups = (int)groups;
    r->replacement = xstrndup(rep, rep_len);
    r->fold = fold;
    m->n++;
    return 0;
}

/* One rule at *pp (leading blanks skipped): DEFAULT, RULE:p/r/[LU]...,
 * up to the ',' that ends it. */
static int parse_rule(ssl_principal_mapper_t *m, const char **pp, char *err, size_t errlen)
{
    const char *p = *pp;
    while (isspace((unsigned char)*p))
        p++;
    const char *start = p;
    if (!strncmp(p, "DEFAULT", 7)) {
        p += 7;
        if (m->n == MAX_RULES) {
            snprintf(err, errlen, "more than %d ssl.principal.mapping.rules", MAX_RULES);
            return -1;
        }
        m->rules[m->n++].is_default = true;
    } else if (!strncmp(p, "RULE:", 5)) {
        const char *pat = p + 5, *pat_end = part_end(pat);
        const char *rep = pat_end ? pat_end + 1 : NULL, *rep_end = rep ? part_end(rep) : NULL;
        if (!rep_end)
            goto invalid;
        p = rep_end + 1;
        char fold = (*p == 'L' || *p == 'U') ? *p++ : 0;
        if (add_rule(m, pat, (size_t)(pat_end - pat), rep, (size_t)(rep_end - rep), fold, err,
                     errlen) < 0)
            return -1;
    } else if (*p && *p != ',') {
        goto invalid;
    }
    while (isspace((unsigned char)*p))
        p++;
    if (*p && *p != ',')
        goto invalid;
    *pp = *p ? p + 1 : p;
    return 0;
invalid:
    snprintf(err, errlen, "Invalid rule: %.*s", (int)strcspn(start, ","), start);
    return -1;
}

ssl_principal_mapper_t *ssl_principal_mapper_new(const char *rules, char *err, size_t errlen)
{
    ssl_principal_mapper_t *m = xcalloc(1, sizeof(*m));
    const char *p = rules ? rules : "DEFAULT";
    while (*p) {
        if (parse_rule(m, &p, err, errlen) < 0) {
            ssl_principal_mapper_free(m);
            return NULL;
        }
    }
    return m;
}

/* Appends n bytes to out (always NUL-terminated, truncating). */
static void put(char *out, size_t outlen, size_t *len, const char *s, size_t n)
{
    for (size_t i = 0; i < n && *len + 1 < outlen; i++)
        out[(*len)++] = s[i];
    out[*len] = '\0';
}

/* Java's Matcher.appendReplacement: "\x" is x, "$n" a group (the longest
 * number that is a group; one that is not stays literal, as Kafka's
 * escapeLiteralBackReferences makes it). */
static void expand(const rule_t *r, const char *subject, const PCRE2_SIZE *ov, char *out,
                   size_t outlen, size_t *len)
{
    for (const char *q = r->replacement; *q; q++) {
        if (*q == '\\' && q[1]) {
            put(out, outlen, len, ++q, 1);
        } else if (*q == '$' && isdigit((unsigned char)q[1]) && q[1] - '0' <= r->groups) {
            int g = *++q - '0';
            while (isdigit((unsigned char)q[1]) && g * 10 + (q[1] - '0') <= r->groups)
                g = g * 10 + (*++q - '0');
            if (ov[2 * g] != PCRE2_UNSET)
                put(out, outlen, len, subject + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
        } else {
            put(out, outlen, len, q, 1);
        }
    }
}

/* Java's String.replaceAll(pattern, replacement) over the subject. */
static void replace_all(const rule_t *r, const char *subject, pcre2_match_data *md, char *out,
                        size_t outlen)
{
    size_t len = 0, n = strlen(subject), from = 0, copied = 0;
    out[0] = '\0';
    while (from <= n && pcre2_match(r->re, (PCRE2_SPTR)subject, n, from, 0, md, NULL) >= 0) {
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        put(out, outlen, &len, subject + copied, ov[0] - copied);
        expand(r, subject, ov, out, outlen, &len);
        copied = ov[1];
        from = ov[1] > ov[0] ? ov[1] : ov[1] + 1;  /* past an empty match */
    }
    put(out, outlen, &len, subject + copied, n - copied);
}

int ssl_principal_map(const ssl_principal_mapper_t *m, const char *subject, char *out,
                      size_t outlen, char *why, size_t whylen)
{
    for (int i = 0; i < m->n; i++) {
        const rule_t *r = &m->rules[i];
        if (r->is_default) {
            snprintf(out, outlen, "%s", subject);
            return 0;
        }
        pcre2_match_data *md = pcre2_match_data_create_from_pattern(r->re, NULL);
        if (!md)
            continue;
        bool whole = pcre2_match(r->re, (PCRE2_SPTR)subject, strlen(subject), 0,
                                 PCRE2_ANCHORED | PCRE2_ENDANCHORED, md, NULL) >= 0;
        if (whole)
            replace_all(r, subject, md, out, outlen);
        pcre2_match_data_free(md);
        if (!whole)
            continue;
        for (char *c = out; r->fold && *c; c++)
            *c = (char)(r->fold == 'L' ? tolower((unsigned char)*c) : toupper((unsigned char)*c));
        return 0;
    }
    snprintf(why, whylen, "No rules apply to %s", subject);
    return -1;
}
