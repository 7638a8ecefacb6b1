/* test_scram.c - SCRAM credentials and the server's exchange against the
 * RFC 7677 test vector, Kafka's credential text and sanitized names. */
#define _GNU_SOURCE
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jaas.h"
#include "kv_list.h"
#include "sasl_client.h"
#include "ssl_principal.h"
#include "sasl_scram.h"
#include "scram.h"
#include "scram_store.h"
#include "test_helpers.h"

/* RFC 7677 section 3. */
#define RFC_SALT "W22ZaJ0SNY7soEsUEjb6gQ=="
#define RFC_AUTH "n=user,r=rOprNGfwEbeRWgbNEkqO,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," \
                 "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
#define RFC_PROOF "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define RFC_SERVER_SIG "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

static scram_credential_t rfc_credential(void)
{
    uint8_t salt[32], salted[SCRAM_KEY_MAX];
    int sl = scram_b64_decode(RFC_SALT, strlen(RFC_SALT), salt, sizeof(salt));
    CU_ASSERT_EQUAL_FATAL(sl, 16);
    CU_ASSERT_EQUAL_FATAL(scram_salted_password(SCRAM_SHA_256, "pencil", salt, 16, 4096, salted), 0);
    scram_credential_t c;
    CU_ASSERT_EQUAL_FATAL(scram_credential_from_salted(SCRAM_SHA_256, salt, 16, salted, 32, 4096, &c), 0);
    return c;
}

/* The client's proof and the server's signature of the RFC exchange follow
 * from the stored credential alone. */
static void test_rfc7677_vector(void)
{
    scram_credential_t c = rfc_credential();
    uint8_t sig[SCRAM_KEY_MAX], server_sig[SCRAM_KEY_MAX], proof[SCRAM_KEY_MAX];
    CU_ASSERT_EQUAL(scram_b64_decode(RFC_PROOF, strlen(RFC_PROOF), proof, sizeof(proof)), 32);
    CU_ASSERT_EQUAL(scram_hmac(SCRAM_SHA_256, c.stored_key, 32, RFC_AUTH, strlen(RFC_AUTH), sig), 0);
    uint8_t client_key[32], stored[32];
    for (int i = 0; i < 32; i++)
        client_key[i] = proof[i] ^ sig[i];
    CU_ASSERT_EQUAL(scram_hash(SCRAM_SHA_256, client_key, 32, stored), 0);
    CU_ASSERT_EQUAL(memcmp(stored, c.stored_key, 32), 0);
    CU_ASSERT_EQUAL(scram_hmac(SCRAM_SHA_256, c.server_key, 32, RFC_AUTH, strlen(RFC_AUTH),
                               server_sig), 0);
    char b64[64];
    scram_b64_encode(server_sig, 32, b64);
    CU_ASSERT_STRING_EQUAL(b64, RFC_SERVER_SIG);
}

static void test_credential_text(void)
{
    scram_credential_t c = rfc_credential(), back;
    char *text = scram_credential_format(&c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_EQUAL(strncmp(text, "salt=" RFC_SALT ",stored_key=", strlen("salt=" RFC_SALT ",stored_key=")), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, ",iterations=4096"));
    CU_ASSERT_EQUAL(scram_credential_parse(SCRAM_SHA_256, text, &back), 0);
    CU_ASSERT_EQUAL(back.iterations, 4096);
    CU_ASSERT_EQUAL(back.salt_len, 16);
    CU_ASSERT_EQUAL(memcmp(back.stored_key, c.stored_key, 32), 0);
    CU_ASSERT_EQUAL(memcmp(back.server_key, c.server_key, 32), 0);
    /* SHA-512 keys are 64 bytes: a SHA-256 credential does not parse as one. */
    CU_ASSERT_EQUAL(scram_credential_parse(SCRAM_SHA_512, text, &back), -1);
    free(text);
    const char *bad[] = { "", "salt=abc", "salt=AAAA,stored_key=AAAA,server_key=AAAA,iterations=x",
                          "salt=A===,stored_key=AAAA,server_key=AAAA,iterations=1",
                          "salt=AAAA,stored_key=AAAA,server_key=AAAA,iterations=1,extra=1" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CU_ASSERT_EQUAL(scram_credential_parse(SCRAM_SHA_256, bad[i], &back), -1);
}

static void test_sanitized_names(void)
{
    char *s = kafka_sanitize("us er*@x.y-_1/é");
    CU_ASSERT_STRING_EQUAL(s, "us%20er%2A%40x.y-_1%2F%C3%A9");
    char *d = kafka_desanitize(s);
    CU_ASSERT_STRING_EQUAL(d, "us er*@x.y-_1/é");
    free(s);
    free(d);
    d = kafka_desanitize("a+b");       /* URLDecoder: + is a space */
    CU_ASSERT_STRING_EQUAL(d, "a b");
    free(d);
    CU_ASSERT_PTR_NULL(kafka_desanitize("bad%4"));
}

/* One exchange as a client would run it with the password; its result. */
static scram_step_t run_exchange(const char *user, const char *password, bool tamper)
{
    scram_exchange_t *x = scram_exchange_new(SCRAM_SHA_256);
    char first[128], out[512], why[256];
    snprintf(first, sizeof(first), "n,,n=%s,r=clientnonce", user);
    size_t outlen = sizeof(out);
    bool tell;
    scram_step_t r = scram_exchange_step(x, (const uint8_t *)first, strlen(first), out, &outlen,
                                         why, sizeof(why), &tell);
    if (r != SCRAM_CONTINUE) {
        scram_exchange_free(x);
        return r;
    }
    out[outlen] = '\0';
    char nonce[128], salt_b64[64];
    int iterations;
    CU_ASSERT_EQUAL_FATAL(sscanf(out, "r=%127[^,],s=%63[^,],i=%d", nonce, salt_b64, &iterations), 3);
    CU_ASSERT_EQUAL(strncmp(nonce, "clientnonce", 11), 0);
    uint8_t salt[64], salted[32], client_key[32], stored[32], sig[32], proof[32];
    int sl = scram_b64_decode(salt_b64, strlen(salt_b64), salt, sizeof(salt));
    scram_salted_password(SCRAM_SHA_256, password, salt, (size_t)sl, iterations, salted);
    scram_hmac(SCRAM_SHA_256, salted, 32, "Client Key", 10, client_key);
    scram_hash(SCRAM_SHA_256, client_key, 32, stored);
    char without[256], auth[1024], final[512], proof_b64[64];
    snprintf(without, sizeof(without), "c=biws,r=%s", nonce);
    snprintf(auth, sizeof(auth), "%s,%s,%s", first + 3, out, without);
    scram_hmac(SCRAM_SHA_256, stored, 32, auth, strlen(auth), sig);
    for (int i = 0; i < 32; i++)
        proof[i] = client_key[i] ^ sig[i] ^ (tamper && i == 0);
    scram_b64_encode(proof, 32, proof_b64);
    snprintf(final, sizeof(final), "%s,p=%s", without, proof_b64);
    outlen = sizeof(out);
    r = scram_exchange_step(x, (const uint8_t *)final, strlen(final), out, &outlen, why,
                            sizeof(why), &tell);
    if (r == SCRAM_COMPLETE) {
        CU_ASSERT_STRING_EQUAL(scram_exchange_user(x), user);
        CU_ASSERT_EQUAL(strncmp(out, "v=", 2), 0);
    } else {
        CU_ASSERT_STRING_EQUAL(why, "Invalid client credentials");
        CU_ASSERT_FALSE(tell);
    }
    scram_exchange_free(x);
    return r;
}

static void test_exchange_against_the_store(void)
{
    scram_credential_t c = rfc_credential();
    char *text = scram_credential_format(&c);
    kv_list_t cfg = { 0 };
    kv_set(&cfg, "SCRAM-SHA-256", text);
    kv_set(&cfg, "producer_byte_rate", "1024");
    free(text);
    scram_store_apply("us%2Aer", &cfg);
    CU_ASSERT_PTR_NOT_NULL(scram_store_find("us*er", SCRAM_SHA_256));
    CU_ASSERT_PTR_NULL(scram_store_find("us*er", SCRAM_SHA_512));
    CU_ASSERT_EQUAL(run_exchange("us*er", "pencil", false), SCRAM_COMPLETE);
    CU_ASSERT_EQUAL(run_exchange("us*er", "pencil", true), SCRAM_FAILED);
    CU_ASSERT_EQUAL(run_exchange("us*er", "pencil2", false), SCRAM_FAILED);
    CU_ASSERT_EQUAL(run_exchange("nobody", "pencil", false), SCRAM_FAILED);
    /* A config without credentials forgets the user. */
    kv_free(&cfg);
    kv_set(&cfg, "producer_byte_rate", "1024");
    scram_store_apply("us%2Aer", &cfg);
    CU_ASSERT_PTR_NULL(scram_store_find("us*er", SCRAM_SHA_256));
    kv_free(&cfg);
    scram_store_clear();
}

/* samsa's SCRAM client (sasl_client.c) against its server: the client's
 * messages through the server exchange and back; tampered_sig flips a byte
 * of the server's signature. */
static int client_against_server(scram_mech_t m, const char *user, const char *password,
                                 bool tampered_sig, char *err, size_t errlen)
{
    sasl_client_t *cl = sasl_client_new(scram_mech_name(m), user, password);
    scram_exchange_t *sx = scram_exchange_new(m);
    uint8_t token[1024];
    char answer[1024], why[200];
    size_t tl = sizeof(token), al;
    bool tell;
    int rc = sasl_client_step(cl, NULL, 0, token, &tl, err, errlen);
    for (int round = 0; rc == 1 && round < 3; round++) {
        al = sizeof(answer);
        scram_step_t st = scram_exchange_step(sx, token, tl, answer, &al, why, sizeof(why), &tell);
        if (st == SCRAM_FAILED) {
            snprintf(err, errlen, "server: %s", why);
            rc = -1;
            break;
        }
        if (st == SCRAM_COMPLETE && tampered_sig)
            answer[2] ^= 1;
        tl = sizeof(token);
        rc = sasl_client_step(cl, (uint8_t *)answer, al, token, &tl, err, errlen);
    }
    sasl_client_free(cl);
    scram_exchange_free(sx);
    return rc;
}

static void test_client_exchange(void)
{
    for (scram_mech_t m = SCRAM_SHA_256; m <= SCRAM_SHA_512; m++) {
        const uint8_t salt[] = "0123456789abcdef";
        uint8_t salted[SCRAM_KEY_MAX];
        scram_credential_t c;
        CU_ASSERT_EQUAL_FATAL(scram_salted_password(m, "s3cret", salt, 16, 4096, salted), 0);
        CU_ASSERT_EQUAL_FATAL(scram_credential_from_salted(m, salt, 16, salted, scram_key_len(m),
                                                           4096, &c), 0);
        char *text = scram_credential_format(&c);
        kv_list_t cfg = { 0 };
        kv_set(&cfg, scram_mech_name(m), text);
        free(text);
        scram_store_apply("bro%3Dker", &cfg);       /* "bro=ker": a saslname escape */
        kv_free(&cfg);
        char err[256] = "";
        CU_ASSERT_EQUAL(client_against_server(m, "bro=ker", "s3cret", false, err, sizeof(err)), 0);
        CU_ASSERT_EQUAL(client_against_server(m, "bro=ker", "wrong", false, err, sizeof(err)), -1);
        CU_ASSERT_STRING_EQUAL(err, "server: Invalid client credentials");
        CU_ASSERT_EQUAL(client_against_server(m, "bro=ker", "s3cret", true, err, sizeof(err)), -1);
        CU_ASSERT_STRING_EQUAL(err, "Invalid server signature in server final message");
        scram_store_clear();
    }
    /* A server nonce that does not extend ours, and too few iterations. */
    sasl_client_t *cl = sasl_client_new("SCRAM-SHA-256", "u", "p");
    uint8_t tok[256];
    size_t tl = sizeof(tok);
    char err[256];
    CU_ASSERT_EQUAL(sasl_client_step(cl, NULL, 0, tok, &tl, err, sizeof(err)), 1);
    const char *bad = "r=somebodyelse0123456789012345678901234,s=c2FsdA==,i=4096";
    tl = sizeof(tok);
    CU_ASSERT_EQUAL(sasl_client_step(cl, (const uint8_t *)bad, strlen(bad), tok, &tl, err,
                                     sizeof(err)), -1);
    CU_ASSERT_STRING_EQUAL(err, "Invalid server nonce: does not start with client nonce");
    sasl_client_free(cl);
    /* PLAIN: one token, authzid empty. */
    cl = sasl_client_new("PLAIN", "alice", "pw");
    tl = sizeof(tok);
    CU_ASSERT_EQUAL(sasl_client_step(cl, NULL, 0, tok, &tl, err, sizeof(err)), 1);
    CU_ASSERT_EQUAL(tl, 9);
    CU_ASSERT_EQUAL(memcmp(tok, "\0alice\0pw", 9), 0);
    CU_ASSERT_EQUAL(sasl_client_step(cl, NULL, 0, tok, &tl, err, sizeof(err)), 0);
    sasl_client_free(cl);
    CU_ASSERT_PTR_NULL(sasl_client_new("GSSAPI", "u", "p"));
}

static int collect_option(const char *key, size_t keylen, const char *value, void *arg)
{
    char *out = arg;
    snprintf(out + strlen(out), 256 - strlen(out), "%.*s=%s;", (int)keylen, key, value);
    return 0;
}

static void test_jaas(void)
{
    char got[256] = "", err[128];
    CU_ASSERT_EQUAL(jaas_parse(" " JAAS_SCRAM_MODULE " required username=\"bro\\\"ker\" "
                               "password=\"p w\" extra=bare;", JAAS_SCRAM_MODULE, collect_option,
                               got, err, sizeof(err)), 0);
    CU_ASSERT_STRING_EQUAL(got, "username=bro\"ker;password=p w;extra=bare;");
    CU_ASSERT_EQUAL(jaas_parse(JAAS_PLAIN_MODULE " required;", JAAS_SCRAM_MODULE, collect_option,
                               got, err, sizeof(err)), -1);
    CU_ASSERT_STRING_EQUAL(err, "the JAAS entry must name " JAAS_SCRAM_MODULE);
}

/* Kafka's SslPrincipalMapperTest cases. */
static void test_ssl_principal_rules(void)
{
    char err[256], name[256], why[300];
    ssl_principal_mapper_t *m = ssl_principal_mapper_new(
        "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/, "
        "RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L,"
        "RULE:^cn=(.*?),ou=(.*?),dc=(.*?),dc=(.*?)$/$1@$2/U, "
        "RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/U,DEFAULT", err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    const char *cases[][2] = {
        { "CN=Duke,OU=ServiceUsers,O=Org,C=US", "Duke" },
        { "CN=Duke,OU=SME,O=mycp,L=Fulton,ST=MD,C=US", "duke@sme" },
        { "cn=duke,ou=JavaSoft,dc=example,dc=com", "DUKE@JAVASOFT" },
        { "cN=duke,OU=JavaSoft,O=Sun Microsystems", "DUKE" },
        { "OU=JavaSoft,O=Sun Microsystems,C=US", "OU=JavaSoft,O=Sun Microsystems,C=US" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CU_ASSERT_EQUAL(ssl_principal_map(m, cases[i][0], name, sizeof(name), why, sizeof(why)), 0);
        CU_ASSERT_STRING_EQUAL(name, cases[i][1]);
    }
    ssl_principal_mapper_free(m);
    /* An escaped comma inside a name; no DEFAULT: no match fails. */
    m = ssl_principal_mapper_new("RULE:^CN=((\\\\, *|\\w)+)(,.*|$)/$1/", err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_EQUAL(ssl_principal_map(m, "CN=Tkac\\, Adam,OU=ITZ,DC=geodis,DC=cz", name,
                                      sizeof(name), why, sizeof(why)), 0);
    CU_ASSERT_STRING_EQUAL(name, "Tkac\\, Adam");
    CU_ASSERT_EQUAL(ssl_principal_map(m, "OU=nobody", name, sizeof(name), why, sizeof(why)), -1);
    CU_ASSERT_STRING_EQUAL(why, "No rules apply to OU=nobody");
    ssl_principal_mapper_free(m);
    const char *invalid[] = { "default", "DEFAUL", "DEFAULT/L", "DEFAULT/U",
                              "RULE:CN=(.*?),OU=ServiceUsers.*/$1",
                              "RULE:CN=(.*?),OU=ServiceUsers.*/$1/L/U",
                              "RULE:CN=(.*?),OU=ServiceUsers.*/L",
                              "RULE:CN=(.*?),OU=ServiceUsers.*/U",
                              "RULE:CN=(.*?),OU=ServiceUsers.*/LU", "RULE:(unclosed/$1/" };
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
        CU_ASSERT_PTR_NULL(ssl_principal_mapper_new(invalid[i], err, sizeof(err)));
    /* A back-reference past the groups stays literal (Kafka's
     * escapeLiteralBackReferences). */
    m = ssl_principal_mapper_new("RULE:^CN=(\\w+)$/$1@$2/", err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_EQUAL(ssl_principal_map(m, "CN=joe", name, sizeof(name), why, sizeof(why)), 0);
    CU_ASSERT_STRING_EQUAL(name, "joe@$2");
    ssl_principal_mapper_free(m);
}

void register_scram_tests(void)
{
    CU_pSuite s = CU_add_suite("scram", NULL, NULL);
    CU_add_test(s, "RFC 7677 vector", test_rfc7677_vector);
    CU_add_test(s, "Kafka's credential text", test_credential_text);
    CU_add_test(s, "Kafka's sanitized names", test_sanitized_names);
    CU_add_test(s, "an exchange against the store", test_exchange_against_the_store);
    CU_add_test(s, "the client's exchange against the server", test_client_exchange);
    CU_add_test(s, "JAAS entries", test_jaas);
    CU_add_test(s, "ssl.principal.mapping.rules", test_ssl_principal_rules);
}
