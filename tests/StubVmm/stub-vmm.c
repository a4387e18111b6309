/*
 * stub-vmm: a tiny, fast stand-in for a VMM, for tests that need many VMs or exact timing (the .NET fake crosvm
 * costs ~50 ms of start-up per VM). It understands just enough of both VMMs' command lines to be launched by either
 * runner, and its behaviour comes from the file given as the kernel (one key=value per line):
 *
 *   startup_ms=N       wait N ms before creating the control socket
 *   fail_at_start=N    write a line to stderr and exit N before creating anything
 *   no_socket=1        never create the control socket (never comes up)
 *   socket_then_exit=1 create the control socket, then exit at once (exit_code / signal apply)
 *   exit_after_ms=N    exit N ms after coming up (exit_code=N, or signal=N to die by that signal)
 *   ignore_stop=1      ignore `stop` requests on the control socket
 *   ignore_term=1      ignore SIGTERM
 *   fork_child=1       fork a child that sleeps forever holding stdin/stdout/stderr
 *   console_bytes=N    write N bytes to stdout after coming up, blocking like a vCPU on a full serial FIFO
 *   console_loop=1     after coming up, keep writing the console until killed or told to exit (a full console
 *                      stalls it like a vCPU on a full serial FIFO: it only counts the bytes whose write completed,
 *                      and how long it has been stalled; the control socket is still served)
 *   stderr_lines=N     write N lines to stderr after coming up
 *   qmp_silent=1       (QEMU mode) accept QMP connections and never greet
 *   listen_delay_ms=N  create the control socket file N ms before accepting connections on it (by default the file
 *                      appears only once it accepts them)
 *
 *   stub-vmm stop SOCKET   the control client (crosvm's `stop` subcommand): asks a running stub to exit 0.
 *
 * Control socket requests (one per connection): `stop` (exit 0, unless ignore_stop=1), `exit N` (exit with code N at
 * once, even with ignore_stop=1: a guest powering off or crashing on the test's cue), `signal N` (die by signal N),
 * `progress` (replies "WRITTEN STALLED": the console bytes written so far, and for how many polls in a row, each at
 * most 1 ms, the console has not been writable; 0 after any completed write).
 *
 * crosvm mode: `--socket PATH` names the control socket; the kernel is the last argument.
 * QEMU mode: `-qmp unix:PATH,server=on,...` (",," is an escaped comma) names it; the kernel follows `-kernel`.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static long get(const char *scenario, const char *key)
{
    size_t n = strlen(key);
    for (const char *p = scenario; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, key, n) == 0 && p[n] == '=') {
            return strtol(p + n + 1, NULL, 10);
        }
    }
    return -1;
}

static void sleep_ms(long ms)
{
    struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {
    }
}

static long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int address(const char *path, struct sockaddr_un *out)
{
    memset(out, 0, sizeof *out);
    out->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof out->sun_path) {
        return -1;
    }
    strcpy(out->sun_path, path);
    return 0;
}

static int stop(const char *path)
{
    struct sockaddr_un a;
    int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0); /* crosvm's control socket is SOCK_SEQPACKET */
    if (fd < 0 || address(path, &a) != 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        fprintf(stderr, "stub-vmm stop: cannot connect to %s: %s\n", path, strerror(errno));
        return 1;
    }
    if (write(fd, "stop\n", 5) != 5) {
        return 1;
    }
    char reply[8];
    (void)read(fd, reply, sizeof reply);
    return 0;
}

static void finish(long code, long sig)
{
    fflush(NULL);
    if (sig > 0) {
        signal((int)sig, SIG_DFL);
        raise((int)sig);
    }
    _exit(code >= 0 ? (int)code : 0);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "stop") == 0) {
        return stop(argv[2]);
    }

    const char *socket_path = NULL;
    const char *kernel = argc > 1 ? argv[argc - 1] : NULL;
    char qmp_path[256] = { 0 };
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--socket") == 0) {
            socket_path = argv[i + 1];
        } else if (strcmp(argv[i], "-kernel") == 0) {
            kernel = argv[i + 1];
        } else if (strcmp(argv[i], "-qmp") == 0 && strncmp(argv[i + 1], "unix:", 5) == 0) {
            const char *s = argv[i + 1] + 5;
            size_t o = 0;
            while (*s && o + 1 < sizeof qmp_path) {
                if (*s == ',') {
                    if (s[1] != ',') {
                        break;
                    }
                    s++;
                }
                qmp_path[o++] = *s++;
            }
            socket_path = qmp_path;
        }
    }

    static char scenario[4096];
    FILE *f = kernel ? fopen(kernel, "r") : NULL;
    if (f) {
        size_t n = fread(scenario, 1, sizeof scenario - 1, f);
        scenario[n] = 0;
        fclose(f);
    }

    if (get(scenario, "ignore_term") == 1) {
        signal(SIGTERM, SIG_IGN);
    }
    signal(SIGPIPE, SIG_IGN);
    long fail = get(scenario, "fail_at_start");
    if (fail >= 0) {
        fprintf(stderr, "stub-vmm: failing at start with %ld as told\n", fail);
        finish(fail, -1);
    }
    if (socket_path == NULL) {
        fprintf(stderr, "stub-vmm: no --socket PATH or -qmp unix:PATH given\n");
        return 2;
    }
    if (get(scenario, "fork_child") == 1 && fork() == 0) {
        for (;;) {
            pause();
        }
    }
    long startup = get(scenario, "startup_ms");
    if (startup > 0) {
        sleep_ms(startup);
    }
    if (get(scenario, "no_socket") == 1) {
        for (;;) {
            pause();
        }
    }

    /* The socket appears already listening (bound under a temporary name, then renamed), so a client that sees the
     * file can connect; listen_delay_ms=N instead binds in place and listens N ms later, like a VMM whose socket file
     * exists a moment before it accepts connections. */
    struct sockaddr_un a;
    long listen_delay = get(scenario, "listen_delay_ms");
    char temporary[sizeof a.sun_path];
    int renamed = listen_delay < 0 && snprintf(temporary, sizeof temporary, "%s.t", socket_path) < (int)sizeof temporary;
    /* crosvm's control socket is SOCK_SEQPACKET; QEMU's QMP socket is a stream. */
    int listener = socket(AF_UNIX, (qmp_path[0] != 0 ? SOCK_STREAM : SOCK_SEQPACKET) | SOCK_CLOEXEC, 0);
    if (listener < 0 || address(renamed ? temporary : socket_path, &a) != 0 || bind(listener, (struct sockaddr *)&a, sizeof a) != 0) {
        fprintf(stderr, "stub-vmm: cannot bind %s: %s\n", socket_path, strerror(errno));
        return 1;
    }
    if (listen_delay > 0) {
        sleep_ms(listen_delay);
    }
    if (listen(listener, 16) != 0 || (renamed && rename(temporary, socket_path) != 0)) {
        fprintf(stderr, "stub-vmm: cannot listen on %s: %s\n", socket_path, strerror(errno));
        return 1;
    }

    long code = get(scenario, "exit_code");
    long sig = get(scenario, "signal");
    if (get(scenario, "socket_then_exit") == 1) {
        finish(code, sig);
    }

    long lines = get(scenario, "stderr_lines");
    for (long i = 0; i < lines; i++) {
        fprintf(stderr, "stub-vmm: line %ld\n", i);
    }
    long bytes = get(scenario, "console_bytes");
    if (bytes > 0) {
        static char chunk[4096];
        memset(chunk, 'x', sizeof chunk);
        chunk[sizeof chunk - 1] = '\n';
        while (bytes > 0) {
            ssize_t w = write(1, chunk, bytes < (long)sizeof chunk ? (size_t)bytes : sizeof chunk);
            if (w <= 0) {
                break;
            }
            bytes -= w;
        }
    }

    long after = get(scenario, "exit_after_ms");
    long deadline = after >= 0 ? now_ms() + after : -1;
    int silent = get(scenario, "qmp_silent") == 1;
    int ignore_stop = get(scenario, "ignore_stop") == 1;
    int console_loop = get(scenario, "console_loop") == 1;
    static char line[4096];
    long written = 0;
    long stalled = 0;
    if (console_loop) {
        memset(line, 'y', sizeof line);
        line[sizeof line - 1] = '\n';
        fcntl(1, F_SETFL, fcntl(1, F_GETFL) | O_NONBLOCK);
    }
    for (;;) {
        long wait = deadline < 0 ? -1 : deadline - now_ms();
        if (deadline >= 0 && wait <= 0) {
            finish(code, sig);
        }
        struct pollfd p[2] = { { listener, POLLIN, 0 }, { 1, POLLOUT, 0 } };
        if (console_loop && (wait < 0 || wait > 1)) {
            wait = 1; /* pace the console: at most one line per millisecond */
        }
        int ready = poll(p, console_loop ? 2 : 1, (int)wait);
        if (console_loop) {
            ssize_t w = ready > 0 && (p[1].revents & POLLOUT)
                ? write(1, line + written % (long)sizeof line, sizeof line - written % (long)sizeof line)
                : -1;
            if (w > 0) {
                written += w;
                stalled = 0;
            } else {
                stalled++;
            }
        }
        if (ready <= 0) {
            continue;
        }
        if (!(p[0].revents & POLLIN)) {
            continue;
        }
        int c = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0 || silent) {
            continue; /* QMP that never greets: keep the connection open, say nothing */
        }
        char request[16] = { 0 };
        ssize_t n = read(c, request, sizeof request - 1);
        if (n > 0 && strncmp(request, "stop", 4) == 0 && !ignore_stop) {
            (void)write(c, "ok\n", 3);
            close(c);
            finish(0, -1);
        }
        if (n > 5 && strncmp(request, "exit ", 5) == 0) {
            (void)write(c, "ok\n", 3);
            close(c);
            finish(strtol(request + 5, NULL, 10), -1);
        }
        if (n >= 8 && strncmp(request, "progress", 8) == 0) {
            char reply[64];
            int len = snprintf(reply, sizeof reply, "%ld %ld\n", written, stalled);
            (void)write(c, reply, (size_t)len);
        }
        if (n > 7 && strncmp(request, "signal ", 7) == 0) {
            (void)write(c, "ok\n", 3);
            close(c);
            finish(-1, strtol(request + 7, NULL, 10));
        }
        close(c);
    }
}
