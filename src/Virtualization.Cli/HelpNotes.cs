namespace Virtualization.Cli;

/// <summary>What <c>--help</c> prints after the generated usage: examples and the exit codes.</summary>
internal static class HelpNotes
{
    /// <summary>The exit codes, as every command's help lists them (docs/vm-tool.md has the same table).</summary>
    public const string ExitCodes = """
        Exit codes:
          0  success; for 'vm run': the VM shut down (powered off, or Ctrl+C stopped it)
          1  for 'vm run': the VM died any other way (crash, kill, failed start, guest panic, hangup) or its payload
             reported an error; for any command: an unexpected failure
          N  for 'vm run' with a payload channel: the payload finished with exit code N and the VM shut down
          2  bad command line, bad config file, or a file that is missing or exists already
        """;

    /// <summary>The notes for <paramref name="command"/> (a command name, or the root command's name).</summary>
    public static string For(string command)
    {
        string examples = command switch
        {
            "run" => """
                Examples:
                  vm run guest/sample-vm.json --vmm qemu --accel tcg
                  vm run vm.json --vmm qemu --console console.log --verbose
                  vm run vm.json --crosvm ~/crosvm/target/release/crosvm --memory-mib 1024 --cpus 2
                """,
            "guest" or "build" => """
                Examples:
                  vm guest build ./guest-image          (as root: installs busybox-static, QEMU, ... with apt-get)
                  vm run my-vm.json --vmm qemu          (with "kernel": "guest-image/vmlinuz", "initrd": "guest-image/initramfs.cpio.gz")
                """,
            "info" => """
                Examples:
                  vm info
                  vm info --qemu /opt/qemu/bin/qemu-system-x86_64
                """,
            "create-partition" => """
                Examples:
                  vm create-partition data.img 64M
                """,
            "create-composite" => """
                Examples:
                  vm create-composite disk.img boot:boot.img data:data.img:writable
                """,
            "inspect" => """
                Examples:
                  vm inspect disk.img
                """,
            _ => """
                Examples:
                  vm info                                          what this host offers, and how to fix what is missing
                  vm guest build ./guest-image                     build a small test guest (kernel + initramfs)
                  vm run guest/sample-vm.json --vmm qemu --accel tcg
                  vm run vm.json --vmm qemu --verbose              the library's logs (and the VMM's stderr) on stderr
                  vm create-partition data.img 64M
                  vm create-composite disk.img boot:boot.img data:data.img:writable
                """,
        };
        return examples + Environment.NewLine + Environment.NewLine + ExitCodes;
    }
}
