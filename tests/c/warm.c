/* warm [-n LOOKUPS] [-w WARMUP] NAME...: page faults of warm lookups.
 *
 * WARMUP getaddrinfo/freeaddrinfo calls (default 200, hints of `getent ahosts`, names round
 * robin) fill every cache; then LOOKUPS more (default 2000) run between two getrusage calls.
 * Prints one line:
 *   summary: lookups=N failures=F minflt=M majflt=J
 * where minflt counts the minor page faults of the measured calls. A warm lookup that maps
 * fresh memory (musl's mallocng maps whole pages for some allocation groups with mmap and
 * unmaps a group as soon as its last slot is freed) faults at least once on that page, so
 * M == 0 means no call mapped memory. Exit 0 when every lookup succeeded, 2 otherwise, 1 on
 * usage errors. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common.h"

int main(int argc, char **argv) {
    long lookups = 2000, warmup = 200;
    int first = loop_args(argc, argv, &lookups, &warmup);
    if (first < 0) return 1;
    int names = argc - first;
    char **name = argv + first;
    loop_warmup(name, names, warmup);
    long failures = 0;
    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    for (long i = 0; i < lookups; i++) {
        if (loop_lookup(name[i % names]) != 0) failures++;
    }
    getrusage(RUSAGE_SELF, &after);
    printf("summary: lookups=%ld failures=%ld minflt=%ld majflt=%ld\n", lookups, failures,
           after.ru_minflt - before.ru_minflt, after.ru_majflt - before.ru_majflt);
    return failures == 0 ? 0 : 2;
}
