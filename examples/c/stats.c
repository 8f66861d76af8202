/*
 * stats.c: resolve a name with getaddrinfo, print the addresses, then print what the
 * nodecache shim did (nodecache_stats). Runs with or without the shim: the C API is looked up
 * at run time, so without LD_PRELOAD it prints "shim not loaded".
 *
 *   make -C examples/c                   # or: gcc -O2 -Wall -I include -o stats stats.c -ldl
 *   LD_PRELOAD=target/release/libnodecache.so examples/c/stats www.example.com
 *   examples/c/stats www.example.com     # plain libc
 *
 * Pass a count to resolve the name repeatedly and see the cache at work:
 *   LD_PRELOAD=target/release/libnodecache.so examples/c/stats localhost 1000
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "nodecache.h"

typedef int (*stats_fn)(struct nodecache_stats *);
typedef const char *(*version_fn)(void);

static void print_addresses(const struct addrinfo *list) {
    for (const struct addrinfo *ai = list; ai != NULL; ai = ai->ai_next) {
        char text[INET6_ADDRSTRLEN];
        const void *addr = ai->ai_family == AF_INET6
            ? (const void *)&((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr
            : (const void *)&((const struct sockaddr_in *)ai->ai_addr)->sin_addr;
        if (inet_ntop(ai->ai_family, addr, text, sizeof text) != NULL) {
            printf("%s\n", text);
        }
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s NAME [COUNT]\n", argv[0]);
        return 64;
    }
    long count = argc > 2 ? strtol(argv[2], NULL, 10) : 1;
    if (count < 1) {
        count = 1;
    }

    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;

    int status = 0;
    for (long i = 0; i < count; i++) {
        struct addrinfo *list = NULL;
        int rc = getaddrinfo(argv[1], NULL, &hints, &list);
        if (rc != 0) {
            fprintf(stderr, "%s: %s\n", argv[1], gai_strerror(rc));
            status = 2;
            break;
        }
        if (i == 0) {
            print_addresses(list);
        }
        freeaddrinfo(list);
    }

    /* RTLD_DEFAULT finds the shim's symbols when it is preloaded, nothing otherwise. */
    stats_fn stats = (stats_fn)dlsym(RTLD_DEFAULT, "nodecache_stats");
    version_fn version = (version_fn)dlsym(RTLD_DEFAULT, "nodecache_version");
    struct nodecache_stats s;
    if (stats == NULL || stats(&s) != 0) {
        printf("shim not loaded\n");
        return status;
    }
    printf("nodecache %s: lookups %llu, cache hits %llu, misses %llu, hosts file %llu, "
           "queries sent %llu, retransmits %llu, TCP fallbacks %llu\n",
           version != NULL ? version() : "?",
           (unsigned long long)s.lookups, (unsigned long long)s.cache_hits,
           (unsigned long long)s.cache_misses, (unsigned long long)s.hosts_hits,
           (unsigned long long)s.queries_sent, (unsigned long long)s.retransmits,
           (unsigned long long)s.tcp_fallbacks);
    return status;
}
