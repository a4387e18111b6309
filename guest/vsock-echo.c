/* vsock-echo: a guest-side echo server for Virtualization.Core's host-to-guest vsock test.
 * Usage: vsock-echo PORT  -- listens on AF_VSOCK (any CID, PORT), prints "VCORE-GUEST: vsock listening on PORT",
 * and echoes every byte of each connection back until the peer closes it. Built statically by build-image.sh. */
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: vsock-echo PORT\n");
        return 2;
    }
    int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) { perror("vsock-echo: socket"); return 1; }
    struct sockaddr_vm addr;
    memset(&addr, 0, sizeof addr);
    addr.svm_family = AF_VSOCK;
    addr.svm_cid = VMADDR_CID_ANY;
    addr.svm_port = (unsigned)strtoul(argv[1], NULL, 10);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0) { perror("vsock-echo: bind"); return 1; }
    if (listen(fd, 8) != 0) { perror("vsock-echo: listen"); return 1; }
    printf("VCORE-GUEST: vsock listening on %s\n", argv[1]);
    fflush(stdout);
    for (;;) {
        int c = accept(fd, NULL, NULL);
        if (c < 0) { perror("vsock-echo: accept"); return 1; }
        char buf[4096];
        ssize_t n;
        while ((n = read(c, buf, sizeof buf)) > 0) {
            ssize_t off = 0;
            while (off < n) {
                ssize_t w = write(c, buf + off, (size_t)(n - off));
                if (w <= 0) break;
                off += w;
            }
        }
        close(c);
    }
}
