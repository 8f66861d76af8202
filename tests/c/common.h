/* Shared by the C test programs: the hints `getent ahosts` uses, and EAI code names.
 *
 * glibc's nss/getent.c (ahosts_keys_int) calls getaddrinfo(name, NULL, &hints, &res) with
 * ai_family AF_UNSPEC, ai_socktype 0 and ai_flags AI_V4MAPPED | AI_ADDRCONFIG | AI_CANONNAME
 * (plus the IDN flags, which musl does not have and no corpus name needs). The programs use
 * the same hints so their answers compare with getent's. */
#ifndef NODECACHE_TEST_COMMON_H
#define NODECACHE_TEST_COMMON_H

#include <netdb.h>
#include <string.h>
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

#endif
