using System.Globalization;
using System.Text;
using Virtualization.Core.Vmm;

namespace Virtualization.Core.Qemu;

/// <summary>Builds QEMU's argv for a minimal <c>microvm</c> machine (see docs/qemu.md).</summary>
internal static class QemuCommandLine
{
    /// <summary>The QMP socket's file name inside the VM's temporary folder.</summary>
    internal const string QmpSocketName = "qmp.sock";

    /// <summary>The arguments, as an argv array (never a shell line).</summary>
    internal static List<string> Build(VmmLaunchRequest request, bool useKvm, bool withVsock)
    {
        VirtualMachineRawConfig config = request.Config;
        var args = new List<string>(40)
        {
            "-M", "microvm,x-option-roms=off,rtc=on",
            "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
            "-accel", useKvm ? "kvm" : "tcg",
            "-m", (config.MemoryMib > 0 ? config.MemoryMib : 256).ToString(CultureInfo.InvariantCulture),
            "-smp", (config.CpuCount > 0 ? config.CpuCount : 1).ToString(CultureInfo.InvariantCulture),
            "-serial", request.ConsoleOutput is null ? "null" : "stdio",
            "-qmp", $"unix:{Path.Combine(request.TemporaryDirectory, QmpSocketName)},server=on,wait=off",

            // pvpanic lets a panicking guest say so (GUEST_PANICKED) instead of looking like a reboot.
            "-device", "pvpanic",
        };
        if (useKvm)
        {
            args.AddRange(["-cpu", "host"]);
        }

        if (config.Kernel is { } kernel)
        {
            args.AddRange(["-kernel", kernel]);
            var append = new StringBuilder("console=ttyS0 panic=-1");
            if (!string.IsNullOrEmpty(config.Params))
            {
                append.Append(' ').Append(config.Params);
            }

            args.AddRange(["-append", append.ToString()]);
        }

        if (config.Initrd is { } initrd)
        {
            args.AddRange(["-initrd", initrd]);
        }

        if (config.Bootloader is { } bootloader)
        {
            args.AddRange(["-bios", bootloader]);
        }

        for (int i = 0; i < request.Disks.Count; i++)
        {
            VmmDisk disk = request.Disks[i];
            args.AddRange([
                "-drive", $"file={EscapeOption(disk.Path)},if=none,id=disk{i},format=raw,readonly={(disk.Writable ? "off" : "on")}",
                "-device", $"virtio-blk-device,drive=disk{i}",
            ]);
        }

        if (withVsock)
        {
            args.AddRange(["-device", $"vhost-vsock-device,guest-cid={request.Cid.ToString(CultureInfo.InvariantCulture)}"]);
        }

        return args;
    }

    /// <summary>QEMU option values escape a comma by doubling it.</summary>
    internal static string EscapeOption(string value) => value.Replace(",", ",,", StringComparison.Ordinal);
}
