/* allocs [-n LOOKUPS] [-w WARMUP] NAME...: how many times warm getaddrinfo/freeaddrinfo calls
 * allocate memory.
 *
 * The program replaces malloc and its relatives with a counting bump allocator (glibc's manual,
 * "Replacing malloc"; musl's dynamic linker lets the program's definitions interpose too), so
 * every allocation of the process goes through it, the preloaded shim's included. WARMUP
 * calls (default 200, hints of `getent ahosts`, names round robin) fill every cache; then
 * LOOKUPS calls (default 2000) are counted. Prints one line:
 *   summary: lookups=N failures=F allocs=A
 * A == 0 means the warm calls allocated nothing, whatever the real allocator's layout would be
 * (musl's mallocng maps and unmaps whole groups, so a warm call that allocates can end up in
 * mmap; see warm.c). Memory is never reused: free only checks its argument. Exit 0 when every
 * lookup succeeded, 2 otherwise, 1 on usage errors or when the arena runs out. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

/* 256 MiB of .bss: pages the program never touches cost nothing. */
#define ARENA_BYTES (256u << 20)
#define ALIGN 16u

static unsigned char arena[ARENA_BYTES] __attribute__((aligned(4096)));
static size_t used;
static int counting;
static long allocations;

/* Every block starts with a 16-byte header holding its size (for realloc). */
static void *bump(size_t size, size_t align) {
    if (align < ALIGN) align = ALIGN;
    if (size > ARENA_BYTES) return NULL;
    size_t start = (used + ALIGN + align - 1) / align * align;
    if (start > ARENA_BYTES - size) {
        static const char message[] = "allocs: arena exhausted\n";
        write(2, message, sizeof message - 1);
        _exit(1);
    }
    used = start + size;
    *(size_t *)(arena + start - ALIGN) = size;
    if (counting) allocations++;
    return arena + start;
}

void *malloc(size_t size) { return bump(size, ALIGN); }

void *calloc(size_t count, size_t size) {
    if (size != 0 && count > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    /* .bss starts zeroed and memory is never reused. */
    return bump(count * size, ALIGN);
}

void *realloc(void *old, size_t size) {
    void *block = bump(size, ALIGN);
    if (old != NULL && block != NULL) {
        size_t old_size = *(size_t *)((unsigned char *)old - ALIGN);
        memcpy(block, old, old_size < size ? old_size : size);
    }
    return block;
}

void free(void *block) {
    unsigned char *p = block;
    if (p != NULL && (p < arena || p >= arena + ARENA_BYTES)) {
        static const char message[] = "allocs: free of a block that is not ours\n";
        write(2, message, sizeof message - 1);
        _exit(1);
    }
}

void *aligned_alloc(size_t align, size_t size) { return bump(size, align); }
void *memalign(size_t align, size_t size) { return bump(size, align); }
int posix_memalign(void **out, size_t align, size_t size) {
    void *block = bump(size, align);
    if (block == NULL) return ENOMEM;
    *out = block;
    return 0;
}
size_t malloc_usable_size(void *block) {
    return block == NULL ? 0 : *(size_t *)((unsigned char *)block - ALIGN);
}

int main(int argc, char **argv) {
    long lookups = 2000, warmup = 200;
    int first = loop_args(argc, argv, &lookups, &warmup);
    if (first < 0) return 1;
    int names = argc - first;
    char **name = argv + first;
    loop_warmup(name, names, warmup);
    long failures = 0;
    counting = 1;
    for (long i = 0; i < lookups; i++) {
        if (loop_lookup(name[i % names]) != 0) failures++;
    }
    counting = 0;
    printf("summary: lookups=%ld failures=%ld allocs=%ld\n", lookups, failures, allocations);
    return failures == 0 ? 0 : 2;
}
