namespace FakeCrosvm.Cli;

/// <summary>Help texts (printed on stdout, exit 0).</summary>
internal static class Usage
{
    public const string TopLevel = """
        Usage: crosvm [--extended-status] [--log-level <log-level>] [--no-syslog] [--syslog-tag <tag>] <command> [<args>]

        Fake crosvm for the Virtualization.Core tests.

        Options:
          --extended-status  report the VM outcome in the exit code (32 reset, 33 crash, 34 panic, 36 watchdog)
          --log-level        log filter: off, error, warn, info (default), debug, trace
          --no-syslog        do not log to syslog
          --syslog-tag       syslog tag
          --help, help       display usage information

        Commands:
          run                start a (fake) virtual machine
          stop               stop a running VM through its control socket
          suspend            suspend the VM's vCPUs (--full: and its devices)
          resume             resume the VM's vCPUs (--full: and its devices)
          balloon            set the balloon size in bytes
          balloon_stats      print the balloon statistics as JSON
          version            show the version
        """;

    public const string Run = """
        Usage: crosvm run [<options>] [KERNEL]

        Start a (fake) virtual machine. KERNEL must be the last argument.

        Options:
          --bios PATH                      BIOS/firmware image (instead of KERNEL)
          -i, --initrd PATH                initial ramdisk
          -p, --params STR                 extra kernel command line parameters (repeatable)
          -m, --mem N|size=N               memory in MiB (default 256)
          -c, --cpus N|num-cores=N[,...]   number of vCPUs (default 1)
          -s, --socket PATH                control socket (SOCK_SEQPACKET)
          -b, --block path=P[,ro][,root][,sparse=B][,direct=B][,lock=B][,block-size=N][,id=S]
          -d, --disk, --rwdisk, -r, --root, --rwroot   deprecated forms of --block
          --serial type=T[,hardware=H][,num=N][,path=P][,input=P][,console][,earlycon][,stdin]
          --vsock cid=N[,device=PATH]      vsock device
          --cid N                          deprecated: vsock context id
          --name NAME                      VM name
          --disable-sandbox, --protected-vm, --protected-vm-without-firmware,
          --no-balloon, --no-rng, --no-usb, --suspended
          --help, help                     display usage information
        """;

    public const string Stop = """
        Usage: crosvm stop <socket_path>

        Stop the VM listening on the given control socket.
        """;

    public const string Suspend = """
        Usage: crosvm suspend <socket_path> [--full]

        Suspend the crosvm instance.

        Options:
          --full             suspend all devices as well as the vCPUs
        """;

    public const string Resume = """
        Usage: crosvm resume <socket_path> [--full]

        Resume the crosvm instance.

        Options:
          --full             resume all devices as well as the vCPUs
        """;

    public const string Balloon = """
        Usage: crosvm balloon <num_bytes> <socket_path> [--wait]

        Set new balloon size.

        Options:
          --wait             wait for the balloon to reach the size
        """;

    public const string BalloonStats = """
        Usage: crosvm balloon_stats <socket_path>

        Prints virtio balloon statistics.
        """;
}
