/*
 * standalone_main.c - runs a libFuzzer target without libFuzzer (gcc
 * builds, `make check`): every seed file named on the command line, then
 * random mutations of those seeds (byte flips, truncations, insertions,
 * count-like values) for -max_total_time seconds.  Deterministic (fixed
 * seed), so a failure reproduces.  The real fuzzing is
 * `./configure --enable-fuzzing` with clang (README, "Fuzzing").
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct seed {
    uint8_t *data;
    size_t len;
} seed_t;

static seed_t *seeds;
static int n_seeds;

static void add_seed(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    seed_t s = { NULL, 0 };
    size_t cap = 0;
    uint8_t chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (s.len + n > cap) {
            cap = (s.len + n) * 2;
            s.data = realloc(s.data, cap);
        }
        memcpy(s.data + s.len, chunk, n);
        s.len += n;
    }
    fclose(f);
    seeds = realloc(seeds, sizeof(*seeds) * (size_t)(n_seeds + 1));
    seeds[n_seeds++] = s;
}

static void add_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return;
    if (!S_ISDIR(st.st_mode)) {
        add_seed(path);
        return;
    }
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char sub[4096];
        snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
        add_path(sub);
    }
    if (d)
        closedir(d);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

/* One mutant of a seed into out (capacity cap); returns its length. */
static size_t mutate(const seed_t *s, uint8_t *out, size_t cap)
{
    size_t len = s->len < cap ? s->len : cap;
    memcpy(out, s->data, len);
    int edits = 1 + (int)(next() % 4);
    for (int i = 0; i < edits && len > 0; i++) {
        size_t at = next() % len;
        switch (next() % 5) {
        case 0: out[at] ^= (uint8_t)(1u << (next() % 8)); break;
        case 1: out[at] = (uint8_t)next(); break;
        case 2: len = at + 1; break;                          /* truncate */
        case 3:                                               /* huge count */
            if (at + 4 <= len) {
                uint32_t v = next() % 3 == 0 ? 0x7fffffffu : next() % 0x10000u;
                out[at] = (uint8_t)(v >> 24);
                out[at + 1] = (uint8_t)(v >> 16);
                out[at + 2] = (uint8_t)(v >> 8);
                out[at + 3] = (uint8_t)v;
            }
            break;
        default:                                              /* insert */
            if (len < cap) {
                memmove(out + at + 1, out + at, len - at);
                out[at] = (uint8_t)next();
                len++;
            }
            break;
        }
    }
    return len;
}

int main(int argc, char **argv)
{
    int seconds = 5;
    for (int i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "-max_total_time=", 16))
            seconds = atoi(argv[i] + 16);
        else if (argv[i][0] != '-')
            add_path(argv[i]);
    }
    for (int i = 0; i < n_seeds; i++)
        LLVMFuzzerTestOneInput(seeds[i].data, seeds[i].len);
    long runs = n_seeds;
    if (n_seeds > 0) {
        size_t cap = 1 << 16;
        uint8_t *buf = malloc(cap);
        time_t end = time(NULL) + seconds;
        while (time(NULL) < end) {
            for (int k = 0; k < 256; k++, runs++)
                LLVMFuzzerTestOneInput(buf, mutate(&seeds[next() % (uint32_t)n_seeds], buf, cap));
        }
        free(buf);
    }
    printf("%s: %d seeds, %ld executions, no failure\n", argv[0], n_seeds, runs);
    return n_seeds > 0 ? 0 : 1;
}
