/*
 * jaas.c - owns reading a JAAS login-module entry (jaas.h): quoted values
 * with backslash escapes, bare words, and the control flag skipped.
 */
#include <ctype.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "jaas.h"

/* One JAAS option value: "quoted" (backslash escapes) or a bare word. */
static const char *jaas_value(const char *p, char *out, size_t outlen)
{
    size_t n = 0;
    if (*p == '"') {
        for (p++; *p && *p != '"'; p++) {
            if (*p == '\\' && p[1])
                p++;
            if (n + 1 < outlen)
                out[n++] = *p;
        }
        if (*p == '"')
            p++;
    } else {
        for (; *p && !isspace((unsigned char)*p) && *p != ';'; p++)
            if (n + 1 < outlen)
                out[n++] = *p;
    }
    out[n] = '\0';
    return p;
}

int jaas_parse(const char *jaas, const char *module, jaas_option_fn fn, void *arg, char *err,
               size_t errlen)
{
    const char *p = jaas;
    while (isspace((unsigned char)*p))
        p++;
    size_t mlen = strlen(module);
    if (strncmp(p, module, mlen) || (p[mlen] && !isspace((unsigned char)p[mlen]))) {
        snprintf(err, errlen, "the JAAS entry must name %s", module);
        return -1;
    }
    p += mlen;
    int rc = 0;
    while (*p && *p != ';' && rc == 0) {
        while (isspace((unsigned char)*p))
            p++;
        const char *key = p;
        while (*p && *p != '=' && !isspace((unsigned char)*p) && *p != ';')
            p++;
        size_t keylen = (size_t)(p - key);
        if (*p != '=')          /* the control flag (required, ...) */
            continue;
        char value[1024];
        p = jaas_value(p + 1, value, sizeof(value));
        rc = fn(key, keylen, value, arg);
        OPENSSL_cleanse(value, sizeof(value));
    }
    return rc;
}
