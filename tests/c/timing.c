/* timing [-n LOOKUPS] [-w WARMUP] NAME...: one process calling getaddrinfo/freeaddrinfo in a
 * loop over NAMEs (round robin, hints of `getent ahosts`), timing each call.
 *
 * WARMUP calls (default 0) run first and are not measured. Prints one line on stdout:
 *   summary: lookups=N failures=F p50_ns=… p99_ns=… max_ns=… p50_us=… p99_us=… max_us=…
 * where a failure is any non-zero return. Exit 0 when every lookup succeeded, 2 otherwise
 * (the summary is printed either way), 1 on usage errors. Names that should fail belong in
 * a separate run. */
#define _GNU_SOURCE /* glibc: EAI_NODATA, EAI_ADDRFAMILY in <netdb.h> */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"

static int compare_ll(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted samples. */
static long long percentile(const long long *sorted, long n, int pct) {
    long rank = (n * pct + 99) / 100;
    if (rank < 1) rank = 1;
    return sorted[rank - 1];
}

int main(int argc, char **argv) {
    long lookups = 1000, warmup = 0;
    int first = loop_args(argc, argv, &lookups, &warmup);
    if (first < 0) return 1;
    int names = argc - first;
    char **name = argv + first;
    loop_warmup(name, names, warmup);
    long long *samples = malloc(sizeof *samples * (size_t)lookups);
    if (samples == NULL) return 1;
    long failures = 0;
    for (long i = 0; i < lookups; i++) {
        const char *n = name[i % names];
        long long start = now_ns();
        int rc = loop_lookup(n);
        samples[i] = now_ns() - start;
        if (rc != 0) {
            if (failures < 10) {
                fprintf(stderr, "lookup %ld of %s: %s\n", i, n, rc == -1000 ? "no node" : eai_name(rc));
            }
            failures++;
        }
    }
    qsort(samples, (size_t)lookups, sizeof *samples, compare_ll);
    long long p50 = percentile(samples, lookups, 50), p99 = percentile(samples, lookups, 99);
    long long max = samples[lookups - 1];
    printf("summary: lookups=%ld failures=%ld p50_ns=%lld p99_ns=%lld max_ns=%lld "
           "p50_us=%lld p99_us=%lld max_us=%lld\n",
           lookups, failures, p50, p99, max, p50 / 1000, p99 / 1000, max / 1000);
    free(samples);
    return failures == 0 ? 0 : 2;
}
