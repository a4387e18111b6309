/*
 * vcore-exec: the one small program that stands between a Virtualization.Core host and its VMM.
 *
 *   vcore-exec HOST_PID IO_SOCKET TOKEN MODE VMM [VMM_ARGS...]
 *
 *   HOST_PID   the host's pid: the parent-death signal is armed, then the parent is re-checked (it may have died
 *              before the signal was armed).
 *   IO_SOCKET  abstract AF_UNIX name (without the leading NUL) of the host's I/O listener.
 *   TOKEN      32 hex digits naming this launch to the host.
 *   MODE       "c": the VMM's stdout (the guest console) goes to the host and its stdin (console input) comes from
 *              the same connection; "-": both on /dev/null.
 *   VMM        absolute path of the VMM; VMM_ARGS its arguments (never through a shell).
 *
 * What it does, in order:
 *  1. blocks SIGTERM/SIGINT/SIGHUP/SIGCHLD (they are taken with sigtimedwait below, no handlers), starts a new
 *     session, arms PR_SET_PDEATHSIG=SIGTERM and exits if the host is already gone;
 *  2. connects to the host's listener: one connection for stderr ('E' + TOKEN) and, in mode "c", one for the console
 *     ('O' + TOKEN); then waits for the host's go byte on the stderr connection. The host opens a pidfd on this
 *     process before it says go, so until then this process cannot exit on its own and its pid cannot be reused;
 *  3. forks the VMM into a process group of its own (pgid = the VMM's pid), with PR_SET_PDEATHSIG=SIGKILL tied to
 *     this process, stdin and stdout on the console connection (or /dev/null), stderr on the stderr one;
 *  4. waits. SIGTERM, SIGINT or SIGHUP (the host's Kill, or the host's death through the parent-death signal)
 *     SIGKILLs the VMM's whole process group. When the VMM exits, its group is SIGKILLed too (children it forked
 *     cannot hold the console open or outlive it) and only then is the VMM reaped. The group is only ever signalled
 *     while its leader is unreaped, and only this process reaps it: the pgid cannot belong to anyone else.
 *  5. exits with the VMM's exit code, or 128 + n when the VMM was killed by signal n.
 *
 * Exit codes of its own: 125 the host is gone or did not say go, 126 bad arguments, 127 the VMM could not be executed.
 *
 * Freestanding: no libc (a static glibc binary costs ~1 ms more per exec; measured.md). Raw syscalls for x86_64 and
 * aarch64 only.
 */

typedef unsigned long size_t;
typedef long ssize_t;

#define SIGHUP 1
#define SIGINT 2
#define SIGKILL 9
#define SIGTERM 15
#define SIGCHLD 17
#define PR_SET_PDEATHSIG 1
#define AF_UNIX 1
#define SOCK_STREAM 1
#define SOCK_CLOEXEC 02000000
#define O_RDWR 2
#define O_CLOEXEC 02000000
#define AT_FDCWD (-100)
#define SIG_SETMASK 2
#define P_PID 1
#define WNOHANG 1
#define WEXITED 4
#define WNOWAIT 0x01000000
#define EINTR 4

#if defined(__x86_64__)
#define NR_read 0
#define NR_write 1
#define NR_close 3
#define NR_rt_sigprocmask 14
#define NR_getpid 39
#define NR_socket 41
#define NR_connect 42
#define NR_clone 56
#define NR_execve 59
#define NR_wait4 61
#define NR_kill 62
#define NR_setpgid 109
#define NR_getppid 110
#define NR_setsid 112
#define NR_rt_sigtimedwait 128
#define NR_prctl 157
#define NR_exit_group 231
#define NR_waitid 247
#define NR_openat 257
#define NR_dup3 292

static long sys6(long n, long a, long b, long c, long d, long e, long f)
{
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

__asm__(".text\n"
        ".global _start\n"
        "_start:\n"
        "  xor %rbp, %rbp\n"
        "  mov %rsp, %rdi\n"
        "  and $-16, %rsp\n"
        "  call start_c\n"
        "  hlt\n");
#elif defined(__aarch64__)
#define NR_dup3 24
#define NR_openat 56
#define NR_close 57
#define NR_read 63
#define NR_write 64
#define NR_exit_group 94
#define NR_waitid 95
#define NR_kill 129
#define NR_rt_sigprocmask 135
#define NR_rt_sigtimedwait 137
#define NR_setpgid 154
#define NR_setsid 157
#define NR_prctl 167
#define NR_getpid 172
#define NR_getppid 173
#define NR_socket 198
#define NR_connect 203
#define NR_clone 220
#define NR_execve 221
#define NR_wait4 260

static long sys6(long n, long a, long b, long c, long d, long e, long f)
{
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ volatile("svc #0"
                     : "+r"(x0)
                     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                     : "memory");
    return x0;
}

__asm__(".text\n"
        ".global _start\n"
        "_start:\n"
        "  mov x29, #0\n"
        "  mov x30, #0\n"
        "  mov x0, sp\n"
        "  bl start_c\n"
        "  brk #0\n");
#else
#error "vcore-exec supports x86_64 and aarch64"
#endif

#define sys0(n) sys6((n), 0, 0, 0, 0, 0, 0)
#define sys1(n, a) sys6((n), (long)(a), 0, 0, 0, 0, 0)
#define sys2(n, a, b) sys6((n), (long)(a), (long)(b), 0, 0, 0, 0)
#define sys3(n, a, b, c) sys6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define sys4(n, a, b, c, d) sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define sys5(n, a, b, c, d, e) sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

/* The compiler may emit calls to these for struct initialisation. */
void *memset(void *dst, int value, size_t count)
{
    unsigned char *p = dst;
    while (count--) {
        *p++ = (unsigned char)value;
    }
    return dst;
}

void *memcpy(void *dst, const void *src, size_t count)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (count--) {
        *d++ = *s++;
    }
    return dst;
}

static __attribute__((noreturn)) void die(int code)
{
    for (;;) {
        sys1(NR_exit_group, code);
    }
}

static size_t length(const char *s)
{
    size_t n = 0;
    while (s[n] != 0) {
        n++;
    }
    return n;
}

static void say(int fd, const char *s)
{
    sys3(NR_write, fd, s, length(s));
}

static void say_number(int fd, long value)
{
    char digits[24];
    int i = sizeof digits;
    unsigned long v = value < 0 ? (unsigned long)-value : (unsigned long)value;
    digits[--i] = 0;
    do {
        digits[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0 && i > 1);
    if (value < 0) {
        digits[--i] = '-';
    }
    say(fd, digits + i);
}

static int parse_pid(const char *s, long *out)
{
    long v = 0;
    if (*s == 0) {
        return 0;
    }
    for (; *s != 0; s++) {
        if (*s < '0' || *s > '9' || v > 100000000) {
            return 0;
        }
        v = v * 10 + (*s - '0');
    }
    *out = v;
    return 1;
}

static int write_all(int fd, const char *data, size_t count)
{
    while (count > 0) {
        long n = sys3(NR_write, fd, data, count);
        if (n == -EINTR) {
            continue;
        }
        if (n <= 0) {
            return 0;
        }
        data += n;
        count -= (size_t)n;
    }
    return 1;
}

/* Connects to the host's abstract listener and names the stream: KIND followed by the 32-digit token. */
static int connect_stream(const char *name, char kind, const char *token)
{
    struct {
        unsigned short family;
        char path[108];
    } address;
    size_t name_length = length(name);
    if (name_length == 0 || name_length > 100 || length(token) != 32) {
        return -1;
    }
    memset(&address, 0, sizeof address);
    address.family = AF_UNIX;
    memcpy(address.path + 1, name, name_length); /* path[0] = 0: abstract namespace */
    int fd = (int)sys3(NR_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    long rc;
    do {
        rc = sys3(NR_connect, fd, &address, 2 + 1 + name_length);
    } while (rc == -EINTR);
    if (rc != 0) {
        sys1(NR_close, fd);
        return -1;
    }
    char header[33];
    header[0] = kind;
    memcpy(header + 1, token, 32);
    if (!write_all(fd, header, sizeof header)) {
        sys1(NR_close, fd);
        return -1;
    }
    return fd;
}

/* Moves FROM onto TARGET without CLOEXEC (dup3 clears it); FROM stays open. */
static int place(int from, int target)
{
    if (from == target) {
        return 1;
    }
    return sys3(NR_dup3, from, target, 0) == target;
}

static __attribute__((noreturn)) void run_vmm(long self, int console, int errors, char **argv, char **envp)
{
    unsigned long none = 0;

    /* Own process group (the parent sets it too, so a kill right after fork cannot miss it), dies with this process. */
    sys2(NR_setpgid, 0, 0);
    sys2(NR_prctl, PR_SET_PDEATHSIG, SIGKILL);
    if (sys0(NR_getppid) != self) {
        die(125);
    }

    int null_fd = (int)sys4(NR_openat, AT_FDCWD, "/dev/null", O_RDWR | O_CLOEXEC, 0);
    int console_fd = console >= 0 ? console : null_fd;
    if (null_fd < 0 || !place(console_fd, 0) || !place(console_fd, 1) || !place(errors, 2)) {
        die(127);
    }

    sys4(NR_rt_sigprocmask, SIG_SETMASK, &none, 0, 8);
    long err = sys3(NR_execve, argv[0], argv, envp);
    say(2, "vcore-exec: cannot execute ");
    say(2, argv[0]);
    say(2, ": errno ");
    say_number(2, -err);
    say(2, "\n");
    die(127);
}

__attribute__((used)) void start_c(long *stack)
{
    long argc = stack[0];
    char **argv = (char **)(stack + 1);
    char **envp = argv + argc + 1;

    unsigned long blocked = (1UL << (SIGHUP - 1)) | (1UL << (SIGINT - 1)) | (1UL << (SIGTERM - 1)) | (1UL << (SIGCHLD - 1));
    sys4(NR_rt_sigprocmask, SIG_SETMASK, &blocked, 0, 8);

    long host;
    if (argc < 6 || !parse_pid(argv[1], &host) || (argv[4][0] != 'c' && argv[4][0] != '-') || argv[5][0] != '/') {
        say(2, "usage: vcore-exec HOST_PID IO_SOCKET TOKEN c|- /path/to/vmm [args...]\n");
        die(126);
    }

    sys0(NR_setsid);
    sys2(NR_prctl, PR_SET_PDEATHSIG, SIGTERM);
    if (sys0(NR_getppid) != host) {
        die(125);
    }

    int errors = connect_stream(argv[2], 'E', argv[3]);
    if (errors < 0) {
        die(125);
    }
    int console = -1;
    if (argv[4][0] == 'c') {
        console = connect_stream(argv[2], 'O', argv[3]);
        if (console < 0) {
            die(125);
        }
    }

    char go = 0;
    long got;
    do {
        got = sys3(NR_read, errors, &go, 1);
    } while (got == -EINTR);
    if (got != 1 || go != 'G') {
        die(125);
    }

    long self = sys0(NR_getpid);
    long vmm = sys5(NR_clone, SIGCHLD, 0, 0, 0, 0);
    if (vmm == 0) {
        run_vmm(self, console, errors, argv + 5, envp);
    }
    if (vmm < 0) {
        say(errors, "vcore-exec: fork failed: errno ");
        say_number(errors, -vmm);
        say(errors, "\n");
        die(127);
    }

    sys2(NR_setpgid, vmm, vmm);
    sys1(NR_close, errors);
    if (console >= 0) {
        sys1(NR_close, console);
    }

    for (;;) {
        unsigned char info[128];
        long sig = sys4(NR_rt_sigtimedwait, &blocked, info, 0, 8);
        if (sig == SIGCHLD) {
            memset(info, 0, sizeof info);
            if (sys5(NR_waitid, P_PID, vmm, info, WEXITED | WNOHANG | WNOWAIT, 0) != 0) {
                continue;
            }
            int exited_pid = *(int *)(info + 16);
            if (exited_pid != vmm) {
                continue;
            }

            /* The VMM is a zombie: its pgid cannot be reused yet. Kill whatever it left in its group, then reap. */
            sys2(NR_kill, -vmm, SIGKILL);
            int status = 0;
            long rc;
            do {
                rc = sys4(NR_wait4, vmm, &status, 0, 0);
            } while (rc == -EINTR);
            if ((status & 0x7f) == 0) {
                die((status >> 8) & 0xff);
            }
            die(128 + (status & 0x7f));
        } else if (sig > 0) {
            /* Kill request or host death: the VMM is not reaped yet (only this process reaps it). */
            sys2(NR_kill, -vmm, SIGKILL);
        }
    }
}
