/* families NAME...: for each NAME, getaddrinfo for AF_UNSPEC, AF_INET and AF_INET6, each with
 * three flag sets, then gethostbyname and gethostbyname2(AF_INET6); one line per call.
 *
 * The flag sets are 0, AI_CANONNAME and the hints of `getent ahosts` (common.h). They matter
 * for failures: glibc answers AF_INET without AI_CANONNAME through gethostbyname2_r
 * (nss/getaddrinfo.c, try_simple_gethostbyname), which turns NO_RECOVERY into EAI_NODATA,
 * while the NSS loop of the other calls ends such a lookup with EAI_NONAME. Lines:
 *   gai <UNSPEC|INET|INET6> <0|CANON|getent> -> ok <sorted addresses> canon=<name or ->
 *   gai <family> <flags> -> <EAI name>
 *   gethostbyname -> ok name=<h_name> <sorted addresses>   or   -> <h_errno name>
 *   gethostbyname2(INET6) -> ok name=<h_name> <sorted addresses>   or   -> <h_errno name>
 * so the output of two runs (with and without the shim, glibc or musl) compares as text.
 * h_aliases is not printed (the shim leaves it empty). Exit 0; 1 on usage errors. */
#define _GNU_SOURCE /* glibc: EAI_NODATA, EAI_ADDRFAMILY in <netdb.h> */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>

#include "common.h"

#define MAX_ADDRS 64

static int compare_strings(const void *a, const void *b) {
    return strcmp((const char *)a, (const char *)b);
}

/* Prints the sorted, distinct texts of `count` addresses. */
static void print_sorted(char (*addrs)[INET6_ADDRSTRLEN], size_t count) {
    qsort(addrs, count, sizeof addrs[0], compare_strings);
    for (size_t i = 0; i < count; i++) {
        if (i == 0 || strcmp(addrs[i], addrs[i - 1]) != 0) printf(" %s", addrs[i]);
    }
}

static void gai(const char *name, int family, const char *family_name, int flags,
                const char *flags_name) {
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = family;
    hints.ai_flags = flags;
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(name, NULL, &hints, &res);
    printf("gai %s %s ->", family_name, flags_name);
    if (rc != 0) {
        printf(" %s\n", eai_name(rc));
        return;
    }
    static char addrs[MAX_ADDRS][INET6_ADDRSTRLEN];
    size_t count = 0;
    for (struct addrinfo *ai = res; ai != NULL && count < MAX_ADDRS; ai = ai->ai_next) {
        const void *raw = ai->ai_family == AF_INET
                              ? (const void *)&((const struct sockaddr_in *)ai->ai_addr)->sin_addr
                              : (const void *)&((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
        if (inet_ntop(ai->ai_family, raw, addrs[count], sizeof addrs[count]) != NULL) count++;
    }
    printf(" ok");
    print_sorted(addrs, count);
    printf(" canon=%s\n", res->ai_canonname != NULL ? res->ai_canonname : "-");
    freeaddrinfo(res);
}

static const char *h_errno_name(int code) {
    switch (code) {
    case HOST_NOT_FOUND: return "HOST_NOT_FOUND";
    case TRY_AGAIN: return "TRY_AGAIN";
    case NO_RECOVERY: return "NO_RECOVERY";
    case NO_DATA: return "NO_DATA";
    default: return "h_errno?";
    }
}

static void host(const char *label, const struct hostent *h) {
    printf("%s ->", label);
    if (h == NULL) {
        printf(" %s\n", h_errno_name(h_errno));
        return;
    }
    static char addrs[MAX_ADDRS][INET6_ADDRSTRLEN];
    size_t count = 0;
    for (char **a = h->h_addr_list; *a != NULL && count < MAX_ADDRS; a++) {
        if (inet_ntop(h->h_addrtype, *a, addrs[count], sizeof addrs[count]) != NULL) count++;
    }
    printf(" ok name=%s", h->h_name);
    print_sorted(addrs, count);
    printf("\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s NAME...\n", argv[0]);
        return 1;
    }
    const struct {
        int family;
        const char *name;
    } families[] = {{AF_UNSPEC, "UNSPEC"}, {AF_INET, "INET"}, {AF_INET6, "INET6"}};
    const struct {
        int flags;
        const char *name;
    } flag_sets[] = {{0, "0"}, {AI_CANONNAME, "CANON"}, {getent_hints().ai_flags, "getent"}};
    for (int i = 1; i < argc; i++) {
        printf("name %s\n", argv[i]);
        for (size_t f = 0; f < sizeof families / sizeof families[0]; f++) {
            for (size_t g = 0; g < sizeof flag_sets / sizeof flag_sets[0]; g++) {
                gai(argv[i], families[f].family, families[f].name, flag_sets[g].flags,
                    flag_sets[g].name);
            }
        }
        h_errno = 0;
        host("gethostbyname", gethostbyname(argv[i]));
        h_errno = 0;
        host("gethostbyname2(INET6)", gethostbyname2(argv[i], AF_INET6));
    }
    return 0;
}
