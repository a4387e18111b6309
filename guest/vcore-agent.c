/* vcore-agent: the reference guest agent of Virtualization.Core's payload channel (docs/payload-protocol.md).
 *
 * As /bin/vcore-agent (run by the test guest's /init): reads the payload from the kernel command line, reports
 * hello, started, ready, finished(code) or error(code, message) to the host, runs the payload, then powers off.
 * As /bin/vm-payload (a symlink to the same binary): `vm-payload ready` lets the payload say that it is ready.
 *
 * Kernel command line:
 *   vcore.payload=<base64>          the payload's argv, elements separated by NUL bytes (execvp, so PATH is searched)
 *   vcore.payload.transport=auto|serial|vsock   default auto: a serial port if one appears within 5 s, else vsock
 *   vcore.payload.port=/dev/X       the lifecycle port (default: the virtio port named vcore.payload, else /dev/hvc0)
 *   vcore.payload.stdio=/dev/X|vsock|none       the payload's stdin/stdout (default: the port named vcore.stdio, else
 *                                   /dev/hvc1 when the lifecycle port is /dev/hvc0, else none; vsock only if asked)
 *   vcore.payload.poweroff=0        stay up after the payload ends (default: power off)
 * VCORE_AGENT_CMDLINE in the environment replaces /proc/cmdline (to try the agent outside a VM).
 * The payload's stderr stays on the console. Built statically by guest/build-image.sh. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

enum { T_HELLO = 1, T_STARTED = 2, T_READY = 3, T_FINISHED = 4, T_ERROR = 5 };
enum { E_UNKNOWN = 0, E_INVALID_CONFIG = 1, E_NOT_FOUND = 2, E_NOT_EXECUTABLE = 3, E_CRASHED = 4 };
enum { KIND_CONTROL = 0, KIND_STDIO = 1, MAX_BODY = 1020 };

static int chan = -1; /* the lifecycle channel */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("VCORE-GUEST: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* One frame: type:u8 flags:u8 length:u16le, then the body. */
static void send_frame(int fd, int type, const void *body, size_t len)
{
    unsigned char frame[4 + MAX_BODY];
    if (len > MAX_BODY)
        len = MAX_BODY;
    frame[0] = (unsigned char)type;
    frame[1] = 0;
    frame[2] = (unsigned char)(len & 0xff);
    frame[3] = (unsigned char)(len >> 8);
    memcpy(frame + 4, body, len);
    if (fd >= 0 && write_all(fd, frame, 4 + len) != 0)
        say("payload channel write failed: %s", strerror(errno));
}

static void send_hello(int fd, int kind)
{
    unsigned char body[6] = { 'V', 'C', 'P', 'L', 1, (unsigned char)kind };
    send_frame(fd, T_HELLO, body, sizeof body);
}

static void put_i32(unsigned char *p, int32_t v)
{
    uint32_t u = (uint32_t)v;
    p[0] = u & 0xff; p[1] = (u >> 8) & 0xff; p[2] = (u >> 16) & 0xff; p[3] = u >> 24;
}

static void send_finished(int code)
{
    unsigned char body[4];
    put_i32(body, code);
    send_frame(chan, T_FINISHED, body, 4);
}

static void send_error(int code, const char *message)
{
    unsigned char body[MAX_BODY];
    size_t len = strlen(message);
    if (len > MAX_BODY - 4)
        len = MAX_BODY - 4;
    put_i32(body, code);
    memcpy(body + 4, message, len);
    send_frame(chan, T_ERROR, body, 4 + len);
    say("payload error %d: %s", code, message);
}

/* ---- kernel command line ---------------------------------------------------------------------------------------- */
static char cmdline[4096];

static const char *param(const char *key)
{
    size_t klen = strlen(key);
    for (char *p = cmdline; *p; ) {
        while (*p == ' ' || *p == '\n')
            p++;
        if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
            char *v = p + klen + 1, *end = v + strcspn(v, " \n");
            static char values[8][1024];
            static int next;
            char *out = values[next++ % 8];
            size_t n = (size_t)(end - v) < sizeof values[0] - 1 ? (size_t)(end - v) : sizeof values[0] - 1;
            memcpy(out, v, n);
            out[n] = 0;
            return out;
        }
        p += strcspn(p, " \n");
    }
    return NULL;
}

static int b64(int c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

/* Decodes base64 into out (NUL-terminated); returns the length, or -1 on a bad character. */
static long base64_decode(const char *in, unsigned char *out, size_t cap)
{
    unsigned long acc = 0;
    int bits = 0;
    size_t n = 0;
    for (; *in && *in != '='; in++) {
        int v = b64((unsigned char)*in);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n + 1 >= cap)
                return -1;
            out[n++] = (unsigned char)((acc >> bits) & 0xff);
        }
    }
    out[n] = 0;
    return (long)n;
}

/* ---- finding the ports ------------------------------------------------------------------------------------------ */
/* The virtio port whose name is `name` (QEMU virtserialport name=...), as /dev/<vportNpM>. */
static int named_port(const char *name, char *path, size_t cap)
{
    DIR *dir = opendir("/sys/class/virtio-ports");
    struct dirent *e;
    int found = 0;
    if (!dir)
        return 0;
    while (!found && (e = readdir(dir)) != NULL) {
        char file[512], text[128] = { 0 };
        if (e->d_name[0] == '.')
            continue;
        snprintf(file, sizeof file, "/sys/class/virtio-ports/%s/name", e->d_name);
        FILE *f = fopen(file, "r");
        if (!f)
            continue;
        if (fgets(text, sizeof text, f)) {
            text[strcspn(text, "\n")] = 0;
            if (strcmp(text, name) == 0) {
                snprintf(path, cap, "/dev/%s", e->d_name);
                found = 1;
            }
        }
        fclose(f);
    }
    closedir(dir);
    return found && access(path, R_OK | W_OK) == 0;
}

static int open_port(const char *path)
{
    int fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    struct termios t;
    if (fd >= 0 && tcgetattr(fd, &t) == 0) { /* crosvm's ports are hvc ttys: make them 8-bit clean */
        cfmakeraw(&t);
        tcsetattr(fd, TCSANOW, &t);
    }
    return fd;
}

/* The host listens on vsock port = this VM's CID and accepts only this CID. */
static int vsock_connect(int kind)
{
    unsigned int cid = 0;
    int dev = open("/dev/vsock", O_RDONLY | O_CLOEXEC);
    if (dev < 0 || ioctl(dev, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid) != 0) {
        say("payload agent: no vsock (%s)", strerror(errno));
        if (dev >= 0)
            close(dev);
        return -1;
    }
    close(dev);
    int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_vm addr;
    memset(&addr, 0, sizeof addr);
    addr.svm_family = AF_VSOCK;
    addr.svm_cid = VMADDR_CID_HOST;
    addr.svm_port = cid;
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        say("payload agent: vsock connect to port %u failed: %s", cid, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    send_hello(fd, kind);
    return fd;
}

/* ---- vm-payload ready ------------------------------------------------------------------------------------------- */
static int helper(int argc, char **argv)
{
    const char *fd_text = getenv("VCORE_PAYLOAD_READY_FD");
    if (argc != 2 || strcmp(argv[1], "ready") != 0) {
        fprintf(stderr, "usage: vm-payload ready\n");
        return 2;
    }
    if (!fd_text || write_all(atoi(fd_text), "R", 1) != 0) {
        fprintf(stderr, "vm-payload: not running under vcore-agent (VCORE_PAYLOAD_READY_FD is %s)\n", fd_text ? "unusable" : "unset");
        return 1;
    }
    return 0;
}

/* ---- the agent -------------------------------------------------------------------------------------------------- */
static int finish(int rc, int poweroff)
{
    if (chan >= 0)
        close(chan);
    if (poweroff) {
        sync();
        reboot(RB_POWER_OFF);
        say("payload agent: poweroff failed: %s", strerror(errno));
    }
    return rc;
}

int main(int argc, char **argv)
{
    const char *self = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    if (strcmp(self, "vm-payload") == 0)
        return helper(argc, argv);

    /* VCORE_AGENT_CMDLINE replaces /proc/cmdline (to try the agent outside a VM). */
    const char *fake = getenv("VCORE_AGENT_CMDLINE");
    if (fake) {
        snprintf(cmdline, sizeof cmdline, "%s", fake);
    } else {
        int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
        ssize_t got = fd >= 0 ? read(fd, cmdline, sizeof cmdline - 1) : -1;
        if (fd >= 0)
            close(fd);
        cmdline[got > 0 ? got : 0] = 0;
    }

    const char *transport = param("vcore.payload.transport");
    const char *port = param("vcore.payload.port");
    const char *stdio_opt = param("vcore.payload.stdio");
    const char *off = param("vcore.payload.poweroff");
    int poweroff = !(off && strcmp(off, "0") == 0);
    int use_vsock = transport && strcmp(transport, "vsock") == 0;
    char control_path[300] = { 0 }, stdio_path[300] = { 0 };

    /* Lifecycle channel: an explicit port, a named virtio port (it appears shortly after virtio_console loads), hvc0
     * (crosvm's unnamed virtio-console), or vsock. */
    if (!use_vsock) {
        if (port) {
            snprintf(control_path, sizeof control_path, "%s", port);
        } else {
            for (int i = 0; i < 100 && !control_path[0]; i++) {
                if (!named_port("vcore.payload", control_path, sizeof control_path)) {
                    control_path[0] = 0;
                    if (access("/dev/hvc0", R_OK | W_OK) == 0)
                        snprintf(control_path, sizeof control_path, "/dev/hvc0");
                    else
                        usleep(50 * 1000);
                }
            }
        }
        if (control_path[0])
            chan = open_port(control_path);
        if (chan < 0 && (transport && strcmp(transport, "serial") == 0)) {
            say("payload agent: no lifecycle port (%s)", control_path[0] ? strerror(errno) : "none found");
            return finish(1, poweroff);
        }
        if (chan >= 0)
            send_hello(chan, KIND_CONTROL);
    }
    if (chan < 0) {
        use_vsock = 1;
        chan = vsock_connect(KIND_CONTROL);
        if (chan < 0)
            return finish(1, poweroff);
    }
    say("payload agent: reporting on %s", use_vsock ? "vsock" : control_path);

    /* The payload's argv: base64 of NUL-separated strings. */
    static unsigned char decoded[4096];
    static char *args[64];
    const char *encoded = param("vcore.payload");
    long len = encoded ? base64_decode(encoded, decoded, sizeof decoded) : -1;
    int nargs = 0;
    for (long i = 0; len > 0 && i < len && nargs < 63; i += (long)strlen((char *)decoded + i) + 1)
        args[nargs++] = (char *)decoded + i;
    args[nargs] = NULL;
    if (nargs == 0 || args[0][0] == 0) {
        send_error(E_INVALID_CONFIG, encoded ? "vcore.payload is not base64 of a NUL-separated argv" : "no vcore.payload on the kernel command line");
        return finish(1, poweroff);
    }

    /* The payload's stdin/stdout: the stdio port, or the console and /dev/null. */
    int stdio = -1;
    if (stdio_opt && strcmp(stdio_opt, "vsock") == 0) {
        stdio = vsock_connect(KIND_STDIO);
    } else if (stdio_opt && strcmp(stdio_opt, "none") != 0) {
        stdio = open_port(stdio_opt);
    } else if (!stdio_opt && !use_vsock) {
        if (named_port("vcore.stdio", stdio_path, sizeof stdio_path) ||
            (strcmp(control_path, "/dev/hvc0") == 0 && access("/dev/hvc1", R_OK | W_OK) == 0 &&
             snprintf(stdio_path, sizeof stdio_path, "/dev/hvc1") > 0))
            stdio = open_port(stdio_path);
    }

    int ready[2], failed[2];
    if (pipe2(ready, O_CLOEXEC) != 0 || pipe2(failed, O_CLOEXEC) != 0) {
        send_error(E_UNKNOWN, "pipe2 failed");
        return finish(1, poweroff);
    }
    fcntl(ready[0], F_SETFL, O_NONBLOCK);
    sigset_t chld, old;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &old);
    int sfd = signalfd(-1, &chld, SFD_CLOEXEC);

    pid_t pid = fork();
    if (pid == 0) {
        char fd_text[16];
        sigprocmask(SIG_SETMASK, &old, NULL);
        setsid();
        int in = stdio >= 0 ? stdio : open("/dev/null", O_RDONLY);
        dup2(in, 0);
        if (stdio >= 0)
            dup2(stdio, 1);
        fcntl(ready[1], F_SETFD, 0);
        snprintf(fd_text, sizeof fd_text, "%d", ready[1]);
        setenv("VCORE_PAYLOAD_READY_FD", fd_text, 1);
        execvp(args[0], args);
        int err = errno;
        write_all(failed[1], &err, sizeof err);
        _exit(127);
    }
    close(ready[1]);
    close(failed[1]);
    if (stdio >= 0)
        close(stdio);
    if (pid < 0) {
        send_error(E_UNKNOWN, "fork failed");
        return finish(1, poweroff);
    }

    /* The exec-error pipe is close-on-exec: EOF means the payload runs, an errno means it could not be executed. */
    int err = 0;
    ssize_t n;
    while ((n = read(failed[0], &err, sizeof err)) < 0 && errno == EINTR)
        ;
    close(failed[0]);
    if (n == (ssize_t)sizeof err) {
        char message[600];
        waitpid(pid, NULL, 0);
        snprintf(message, sizeof message, "cannot execute %s: %s", args[0], strerror(err));
        send_error(err == ENOENT || err == ENOTDIR ? E_NOT_FOUND : err == EACCES || err == ENOEXEC || err == EPERM ? E_NOT_EXECUTABLE : E_UNKNOWN, message);
        return finish(1, poweroff);
    }
    send_frame(chan, T_STARTED, NULL, 0);
    say("payload started: %s", args[0]);

    int ready_sent = 0, status = 0, exited = 0;
    struct pollfd fds[2] = { { ready[0], POLLIN, 0 }, { sfd, POLLIN, 0 } };
    while (!exited) {
        if (poll(fds, 2, -1) < 0 && errno != EINTR)
            break;
        char byte;
        ssize_t r = -1;
        while (fds[0].fd >= 0 && (r = read(ready[0], &byte, 1)) > 0) {
            if (!ready_sent) {
                send_frame(chan, T_READY, NULL, 0);
                ready_sent = 1;
                say("payload ready");
            }
        }
        if (r == 0)
            fds[0].fd = -1; /* every writer is gone */
        if (fds[1].revents & POLLIN) {
            struct signalfd_siginfo info;
            if (read(sfd, &info, sizeof info) < 0) { /* drained below */ }
            exited = waitpid(pid, &status, WNOHANG) == pid;
        }
    }
    /* A ready written just before the exit still counts, and comes first. */
    char byte;
    if (!ready_sent && read(ready[0], &byte, 1) == 1)
        send_frame(chan, T_READY, NULL, 0);

    if (WIFEXITED(status)) {
        say("payload exited with %d", WEXITSTATUS(status));
        send_finished(WEXITSTATUS(status));
        return finish(0, poweroff);
    }
    char message[128];
    snprintf(message, sizeof message, "payload killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    send_error(E_CRASHED, message);
    return finish(1, poweroff);
}
