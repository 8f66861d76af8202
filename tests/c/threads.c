/* threads [-t THREADS] [-n LOOKUPS] [-f] NAME...: THREADS pthreads each calling
 * getaddrinfo/freeaddrinfo LOOKUPS times over NAMEs (which must all resolve).
 *
 * With -f, thread 0 forks halfway through its loop while the others keep resolving; the child
 * resolves NAME[0] and _exit()s 0 on success, 3 on failure. The parent waits for it at most
 * FORK_WAIT_MS (a child stuck on a lock inherited from another thread is killed and reported).
 * Prints on stdout:
 *   summary: threads=T lookups=N failures=F fork_child=<none|ok|exit:C|signal:S|timeout>
 * Exit 0 when there was no failure and the child (if any) resolved, 2 otherwise. */
#define _GNU_SOURCE /* glibc: EAI_NODATA, EAI_ADDRFAMILY in <netdb.h> */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

#define FORK_WAIT_MS 10000

static char **names;
static int name_count;
static long lookups_per_thread = 1000;
static int fork_midway;
static atomic_long failures;
static char fork_result[32] = "none";

static int resolves(const char *name) {
    struct addrinfo hints = getent_hints();
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(name, NULL, &hints, &res);
    if (rc != 0) return 0;
    int ok = res != NULL && res->ai_addr != NULL;
    freeaddrinfo(res);
    return ok;
}

/* Fork, let the child resolve, wait for it with a bound. Runs in thread 0. */
static void fork_and_resolve(void) {
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(fork_result, sizeof fork_result, "fork-failed");
        return;
    }
    if (pid == 0) {
        _exit(resolves(names[0]) ? 0 : 3);
    }
    int status = 0;
    long long deadline = now_ns() + FORK_WAIT_MS * 1000000LL;
    for (;;) {
        pid_t done = waitpid(pid, &status, WNOHANG);
        if (done == pid) break;
        if (done < 0 || now_ns() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            snprintf(fork_result, sizeof fork_result, "timeout");
            return;
        }
        usleep(1000);
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        snprintf(fork_result, sizeof fork_result, "ok");
    } else if (WIFEXITED(status)) {
        snprintf(fork_result, sizeof fork_result, "exit:%d", WEXITSTATUS(status));
    } else {
        snprintf(fork_result, sizeof fork_result, "signal:%d", WTERMSIG(status));
    }
}

static void *worker(void *arg) {
    long id = (long)arg;
    for (long i = 0; i < lookups_per_thread; i++) {
        if (fork_midway && id == 0 && i == lookups_per_thread / 2) {
            fork_and_resolve();
        }
        const char *name = names[(id + i) % name_count];
        if (!resolves(name)) {
            if (atomic_fetch_add(&failures, 1) < 10) {
                fprintf(stderr, "thread %ld lookup %ld of %s failed\n", id, i, name);
            }
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    long threads = 64;
    int opt;
    while ((opt = getopt(argc, argv, "t:n:f")) != -1) {
        switch (opt) {
        case 't': threads = atol(optarg); break;
        case 'n': lookups_per_thread = atol(optarg); break;
        case 'f': fork_midway = 1; break;
        default:
            fprintf(stderr, "usage: %s [-t THREADS] [-n LOOKUPS] [-f] NAME...\n", argv[0]);
            return 1;
        }
    }
    names = argv + optind;
    name_count = argc - optind;
    if (name_count < 1 || threads < 1 || threads > 1024 || lookups_per_thread < 1) {
        fprintf(stderr, "usage: %s [-t THREADS] [-n LOOKUPS] [-f] NAME...\n", argv[0]);
        return 1;
    }
    pthread_t *tids = calloc((size_t)threads, sizeof *tids);
    if (tids == NULL) return 1;
    long started = 0;
    for (; started < threads; started++) {
        if (pthread_create(&tids[started], NULL, worker, (void *)started) != 0) {
            fprintf(stderr, "pthread_create failed after %ld threads\n", started);
            atomic_fetch_add(&failures, 1);
            break;
        }
    }
    for (long i = 0; i < started; i++) {
        pthread_join(tids[i], NULL);
    }
    free(tids);
    long total_failures = atomic_load(&failures);
    int child_ok = !fork_midway || strcmp(fork_result, "ok") == 0;
    printf("summary: threads=%ld lookups=%ld failures=%ld fork_child=%s\n", started,
           started * lookups_per_thread, total_failures, fork_result);
    return total_failures == 0 && child_ok ? 0 : 2;
}
