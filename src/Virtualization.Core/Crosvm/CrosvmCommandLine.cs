using System.Globalization;
using Virtualization.Core.Vmm;

namespace Virtualization.Core.Crosvm;

/// <summary>Builds the argv of <c>crosvm run</c> for today's crosvm (crosvm.md §1-2).</summary>
/// <remarks>
/// <para>
/// The rule every element obeys. Before parsing, crosvm splits each argv element that starts with <c>-</c>, is longer
/// than one character and contains <c>=</c> at its first <c>=</c>, in one pass over the original elements (the halves
/// are not split or rewritten again); it also rewrites an element that is exactly <c>-h</c> or <c>--host_ip</c>. Then
/// argh takes the element after a value option as its value, whatever it starts with. So user input is safe in an
/// element that either cannot start with <c>-</c>, or follows <c>--option=</c> in the same element.
/// </para>
/// <para>
/// What comes from the caller, and why each is safe: KERNEL, <c>--initrd</c> and <c>--bios</c> are absolute paths
/// (ConfigValidator made them so), start with <c>/</c>, and are plain-path options (not key=value lists), so commas,
/// quotes, <c>=</c>, spaces and newlines reach crosvm as they are. <c>--socket</c> is in the VM's folder, also absolute.
/// <c>--params</c> is written as one element <c>--params=VALUE</c> (see <see cref="Build"/>). Disk paths sit inside a
/// <c>--block</c> key=value element that starts with <c>path=</c> and are quoted by <see cref="CrosvmKeyValue.Quote"/>.
/// Numbers (<c>--mem</c>, <c>--cpus</c>, the CID) are validated non-negative integers. The console serial option is a
/// constant; the payload channel's serial options (Payload/PayloadVmmArguments) start with <c>type=</c> and carry
/// sockets in the VM's folder, quoted by <see cref="CrosvmKeyValue.Quote"/>.
/// </para>
/// </remarks>
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
        args.Add(consoleToStdout ? "type=stdout,hardware=serial,num=1,console=true,stdin=true" : "type=sink,hardware=serial,num=1");
        args.Add("--socket");
        args.Add(PlainPath(Path.Combine(request.TemporaryDirectory, ControlSocketName), "control socket"));
        if (config.Initrd is { } initrd)
        {
            args.Add("--initrd");
            args.Add(PlainPath(initrd, nameof(config.Initrd)));
        }

        if (config.Bootloader is { } bootloader)
        {
            args.Add("--bios");
            args.Add(PlainPath(bootloader, nameof(config.Bootloader)));
        }

        if (!string.IsNullOrEmpty(config.Params))
        {
            // ONE element. crosvm splits it at its first '=', which is the one we wrote, into exactly "--params" and
            // Params, and does not look at Params again; argh then takes Params as the value even if it starts with '-'.
            // As two elements, Params would itself be split ("-x=--protected-vm" -> "-x", "--protected-vm": a
            // protected VM) or rewritten ("-h" -> "--help"). crosvm.md §1.2; the 2021 parser took "--name=value" too.
            args.Add("--params=" + config.Params);
        }

        foreach (VmmDisk disk in request.Disks)
        {
            // The element starts with "path=", never '-', so it is never split; inside, the quoted path cannot end
            // the value or add keys.
            args.Add("--block");
            args.Add($"path={CrosvmKeyValue.Quote(PlainPath(disk.Path, "disk"))},ro={CrosvmKeyValue.Bool(!disk.Writable)}");
        }

        // Payload channel (docs/payload-protocol.md): virtio-console ports wired to the host's sockets.
        args.AddRange(Payload.PayloadVmmArguments.Crosvm(config.PayloadChannel, request.TemporaryDirectory));

        if (config.Kernel is { } kernel)
        {
            args.Add(PlainPath(kernel, nameof(config.Kernel)));
        }

        return args;
    }

    /// <summary>
    /// A path for an argv element of its own: it must be absolute, which is what makes it safe (it starts with '/', so
    /// crosvm neither splits it nor takes it for an option). Validation guarantees it; this makes a slip loud.
    /// </summary>
    private static string PlainPath(string path, string what) =>
        path.StartsWith('/')
            ? path
            : throw new ArgumentException($"The {what} path '{path}' is not absolute; crosvm could read it as an option. Paths are made absolute during validation.", nameof(path));
}
