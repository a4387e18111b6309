/*
 * A stand-in for crosvm in LifecycleBenchmarks: finds "--socket PATH" in argv, binds an AF_UNIX stream socket
 * there (which is what the library's StartAsync waits for) and sleeps until it is killed. It never connects to
 * anything and ignores every other argument.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--socket") == 0) {
            path = argv[i + 1];
            break;
        }
    }

    if (path == NULL) {
        fprintf(stderr, "stub-vmm: no --socket PATH given\n");
        return 2;
    }

    struct sockaddr_un address;
    memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof address.sun_path) {
        fprintf(stderr, "stub-vmm: socket path too long: %s\n", path);
        return 2;
    }
    strcpy(address.sun_path, path);

    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0); /* like crosvm's control socket */
    if (fd < 0 || bind(fd, (struct sockaddr *)&address, sizeof address) != 0 || listen(fd, 1) != 0) {
        perror("stub-vmm: socket/bind/listen");
        return 1;
    }

    for (;;) {
        pause();
    }
}
