/* resolve NAME: getaddrinfo(NAME) with the hints of `getent ahosts` (common.h).
 *
 * stdout: each distinct address on its own line, sorted (so runs compare as text), then
 *   `canon: <ai_canonname of the first node>` when there is one, then
 *   `status: ok` or `status: <EAI name> (<gai_strerror text>)`.
 * Exit 0 when the name resolved, 2 on any getaddrinfo error (getent's convention), 1 on usage
 * errors. Built with gcc (glibc) and with musl-gcc by the shim tests. */
#define _GNU_SOURCE /* glibc: EAI_NODATA, EAI_ADDRFAMILY in <netdb.h> */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>

#include "common.h"

#define MAX_ADDRS 256

static int compare_strings(const void *a, const void *b) {
    return strcmp((const char *)a, (const char *)b);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s NAME\n", argv[0]);
        return 1;
    }
    struct addrinfo hints = getent_hints();
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(argv[1], NULL, &hints, &res);
    if (rc != 0) {
        printf("status: %s (%s)\n", eai_name(rc), gai_strerror(rc));
        return 2;
    }
    static char addrs[MAX_ADDRS][INET6_ADDRSTRLEN];
    size_t count = 0;
    for (struct addrinfo *ai = res; ai != NULL && count < MAX_ADDRS; ai = ai->ai_next) {
        const void *raw = NULL;
        if (ai->ai_family == AF_INET) {
            raw = &((const struct sockaddr_in *)ai->ai_addr)->sin_addr;
        } else if (ai->ai_family == AF_INET6) {
            raw = &((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
        }
        if (raw == NULL || inet_ntop(ai->ai_family, raw, addrs[count], INET6_ADDRSTRLEN) == NULL) {
            printf("status: bad node (family %d)\n", ai->ai_family);
            freeaddrinfo(res);
            return 1;
        }
        count++;
    }
    qsort(addrs, count, sizeof addrs[0], compare_strings);
    for (size_t i = 0; i < count; i++) {
        if (i == 0 || strcmp(addrs[i], addrs[i - 1]) != 0) {
            printf("%s\n", addrs[i]);
        }
    }
    if (res->ai_canonname != NULL) {
        printf("canon: %s\n", res->ai_canonname);
    }
    freeaddrinfo(res);
    printf("status: ok\n");
    return 0;
}
