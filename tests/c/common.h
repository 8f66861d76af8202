/* Shared by the C test programs: the hints `getent ahosts` uses, and EAI code names.
 *
 * glibc's nss/getent.c (ahosts_keys_int) calls getaddrinfo(name, NULL, &hints, &res) with
 * ai_family AF_UNSPEC, ai_socktype 0 and ai_flags AI_V4MAPPED | AI_ADDRCONFIG | AI_CANONNAME
 * (plus the IDN flags, which musl does not have and no corpus name needs). The programs use
 * the same hints so their answers compare with getent's. */
#ifndef NODECACHE_TEST_COMMON_H
#define NODECACHE_TEST_COMMON_H

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <time.h>

static inline struct addrinfo getent_hints(void) {
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = 0;
    hints.ai_flags = AI_V4MAPPED | AI_ADDRCONFIG | AI_CANONNAME;
    return hints;
}

/* The symbolic name of a getaddrinfo return code; the numeric values differ between the
 * libcs for a few codes, the names do not. */
static inline const char *eai_name(int rc) {
    switch (rc) {
    case 0: return "ok";
    case EAI_BADFLAGS: return "EAI_BADFLAGS";
    case EAI_NONAME: return "EAI_NONAME";
    case EAI_AGAIN: return "EAI_AGAIN";
    case EAI_FAIL: return "EAI_FAIL";
    case EAI_FAMILY: return "EAI_FAMILY";
    case EAI_SOCKTYPE: return "EAI_SOCKTYPE";
    case EAI_SERVICE: return "EAI_SERVICE";
    case EAI_MEMORY: return "EAI_MEMORY";
    case EAI_SYSTEM: return "EAI_SYSTEM";
    case EAI_OVERFLOW: return "EAI_OVERFLOW";
#ifdef EAI_NODATA
    case EAI_NODATA: return "EAI_NODATA";
#endif
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY: return "EAI_ADDRFAMILY";
#endif
    default: return "EAI_UNKNOWN";
    }
}

/* Monotonic clock in nanoseconds. */
static inline long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* One lookup as a warm loop does it: getaddrinfo with getent's hints, then freeaddrinfo.
 * Returns the EAI code; a success without a node counts as a failure (-1000). */
static inline int loop_lookup(const char *name) {
    struct addrinfo hints = getent_hints();
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(name, NULL, &hints, &res);
    if (rc == 0) {
        if (res == NULL) return -1000;
        freeaddrinfo(res);
    }
    return rc;
}

/* The unmeasured warm-up of the loop programs: WARMUP lookups over the names, round robin. */
static inline void loop_warmup(char **name, int names, long warmup) {
    for (long i = 0; i < warmup; i++) {
        loop_lookup(name[i % names]);
    }
}

/* The command line of the loop programs: [-n LOOKUPS] [-w WARMUP] NAME... (the callers set
 * the defaults). Returns the index of the first name in argv, or -1 after printing usage. */
static inline int loop_args(int argc, char **argv, long *lookups, long *warmup) {
    int opt;
    while ((opt = getopt(argc, argv, "n:w:")) != -1) {
        switch (opt) {
        case 'n': *lookups = atol(optarg); break;
        case 'w': *warmup = atol(optarg); break;
        default:
            fprintf(stderr, "usage: %s [-n LOOKUPS] [-w WARMUP] NAME...\n", argv[0]);
            return -1;
        }
    }
    if (argc - optind < 1 || *lookups < 1 || *warmup < 0) {
        fprintf(stderr, "usage: %s [-n LOOKUPS] [-w WARMUP] NAME...\n", argv[0]);
        return -1;
    }
    return optind;
}

#endif
