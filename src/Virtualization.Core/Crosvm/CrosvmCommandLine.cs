using System.Globalization;
using Virtualization.Core.Vmm;

namespace Virtualization.Core.Crosvm;

/// <summary>Builds the argv of <c>crosvm run</c> for today's crosvm (crosvm.md §1-2).</summary>
internal static class CrosvmCommandLine
{
    /// <summary>The control socket's file name inside the VM's temporary folder.</summary>
    internal const string ControlSocketName = "crosvm.sock";

    /// <summary>
    /// The arguments, in crosvm's order: top-level <c>--extended-status</c> first (so exit codes tell reboot, crash,
    /// panic and watchdog apart), then <c>run</c> and its options, and the kernel last.
    /// </summary>
    internal static List<string> Build(VmmLaunchRequest request, bool consoleToStdout)
    {
        VirtualMachineRawConfig config = request.Config;
        var args = new List<string>(32)
        {
            "--extended-status",
            "run",
            "--disable-sandbox",
            "--vsock", "cid=" + request.Cid.ToString(CultureInfo.InvariantCulture),
        };
        if (config.MemoryMib > 0)
        {
            args.Add("--mem");
            args.Add(config.MemoryMib.ToString(CultureInfo.InvariantCulture));
        }

        if (config.CpuCount > 0)
        {
            args.Add("--cpus");
            args.Add(config.CpuCount.ToString(CultureInfo.InvariantCulture));
        }

        if (config.Protected)
        {
            args.Add("--protected-vm");
        }

        args.Add("--serial");
        args.Add(consoleToStdout ? "type=stdout,hardware=serial,num=1,console=true" : "type=sink,hardware=serial,num=1");
        args.Add("--socket");
        args.Add(Path.Combine(request.TemporaryDirectory, ControlSocketName));
        if (config.Initrd is { } initrd)
        {
            args.Add("--initrd");
            args.Add(initrd);
        }

        if (config.Bootloader is { } bootloader)
        {
            args.Add("--bios");
            args.Add(bootloader);
        }

        if (!string.IsNullOrEmpty(config.Params))
        {
            args.Add("--params");
            args.Add(config.Params);
        }

        foreach (VmmDisk disk in request.Disks)
        {
            args.Add("--block");
            args.Add($"path={CrosvmKeyValue.Quote(disk.Path)},ro={CrosvmKeyValue.Bool(!disk.Writable)}");
        }

        // Payload channel (docs/payload-protocol.md): virtio-console ports wired to the host's sockets.
        args.AddRange(Payload.PayloadVmmArguments.Crosvm(config.PayloadChannel, request.TemporaryDirectory));

        if (config.Kernel is { } kernel)
        {
            args.Add(kernel);
        }

        return args;
    }
}
