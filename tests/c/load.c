/* load LIBRARY: dlopen(LIBRARY, RTLD_NOW) and report whether it exports getaddrinfo.
 * Proves a libnodecache.so loads into a process of this libc (built with gcc and musl-gcc).
 * stdout: `loaded <path> getaddrinfo=<yes|no>`; exit 0, or 1 with dlerror() on stderr. */
#define _GNU_SOURCE /* RTLD_DEFAULT */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s LIBRARY\n", argv[0]);
        return 1;
    }
    void *handle = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    /* dlsym on the handle searches the library and its dependencies: libc's own getaddrinfo
     * would be found through libc. Compare with the process-wide one to tell them apart. */
    void *own = dlsym(handle, "getaddrinfo");
    void *libc = dlsym(RTLD_DEFAULT, "getaddrinfo");
    printf("loaded %s getaddrinfo=%s\n", argv[1], own != NULL && own != libc ? "yes" : "no");
    return 0;
}
