using System.Globalization;
using System.Text;
using Virtualization.Core.Vmm;

namespace Virtualization.Core.Qemu;

/// <summary>Builds QEMU's argv for a minimal <c>microvm</c> machine (see docs/qemu.md).</summary>
internal static class QemuCommandLine
{
    /// <summary>The QMP socket's file name inside the VM's temporary folder.</summary>
    internal const string QmpSocketName = "qmp.sock";

    /// <summary>The QOM id of the balloon device (its path is <c>/machine/peripheral/balloon0</c>).</summary>
    internal const string BalloonId = "balloon0";

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
            // The console is always on the VMM's stdio (one socket to the host): it is observed for line waits, and
            // stdin is the console input.
            "-serial", "stdio",
            // A chardev spec: QEMU splits it at single commas, so the path's commas are doubled (a folder named
            // "t,server=off" would otherwise end the path and add an option).
            "-qmp", $"unix:{EscapeOption(Path.Combine(request.TemporaryDirectory, QmpSocketName))},server=on,wait=off",

            // pvpanic lets a panicking guest say so (GUEST_PANICKED) instead of looking like a reboot.
            "-device", "pvpanic",

            // The memory balloon (IVirtualMachine.SetMemoryBalloonAsync); crosvm has one by default.
            "-device", "virtio-balloon-device,id=" + BalloonId,
        };
        if (useKvm)
        {
            args.AddRange(["-cpu", "host"]);
        }

        // -kernel, -initrd, -bios and -append take their value as one plain string (QEMU stores it as a machine
        // property as given; it is not a key=value list), so they are NOT comma-escaped: QEMU 7.2 loads a kernel from
        // "/a,b=c/vm,linuz" as is, and would look for "/a,,b" if we doubled the comma. Paths are absolute after
        // validation, so none of them starts with '-'. Exception we rely on not hitting: for a *multiboot* kernel QEMU
        // splits -initrd at commas into modules; the guests here are Linux bzImages, for which it does not.
        if (config.Kernel is { } kernel)
        {
            args.AddRange(["-kernel", kernel]);
            // reboot=t: the default reboot method sometimes hangs on microvm. tsc_early_khz: under TCG, microvm has no
            // timer to calibrate the TSC against and a busy host makes the guest hang at boot; the guest TSC runs at
            // the host's rate, so tell it.
            var append = new StringBuilder("console=ttyS0 reboot=t panic=-1");
            if (!useKvm && HostTscKhzIfReadable() is { } khz)
            {
                append.Append(" tsc_early_khz=").Append(khz.ToString(CultureInfo.InvariantCulture));
            }

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
                // The path is the only user input here; ",," keeps its commas from starting new keys.
                "-drive", $"file={EscapeOption(disk.Path)},if=none,id=disk{i},format=raw,readonly={(disk.Writable ? "off" : "on")}",
                "-device", $"virtio-blk-device,drive=disk{i}",
            ]);
        }

        if (withVsock)
        {
            args.AddRange(["-device", $"vhost-vsock-device,guest-cid={request.Cid.ToString(CultureInfo.InvariantCulture)}"]);
        }

        // Payload channel (docs/payload-protocol.md): named virtio-serial ports wired to the host's sockets.
        args.AddRange(Payload.PayloadVmmArguments.Qemu(config.PayloadChannel, request.TemporaryDirectory));

        return args;
    }

    /// <summary>
    /// The host CPU's clock in kHz (<c>cpu MHz</c> of /proc/cpuinfo), read once; a read that failed (EMFILE, say) is not
    /// remembered, so that this start goes without the hint and a later one reads again.
    /// </summary>
    private static readonly Vmm.InitOnce<long?> HostTscKhz = new(ReadHostTscKhz);

    /// <summary>The host CPU's clock in kHz, or null when /proc/cpuinfo says none or cannot be read now.</summary>
    internal static long? HostTscKhzIfReadable()
    {
        try
        {
            return HostTscKhz.Value;
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return null;
    }

    /// <summary>The host CPU's clock in kHz from /proc/cpuinfo, or null if it says none.</summary>
    /// <exception cref="IOException">/proc/cpuinfo cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">/proc/cpuinfo cannot be read.</exception>
    internal static long? ReadHostTscKhz() => ParseCpuKhz(File.ReadLines("/proc/cpuinfo"));

    /// <summary>The first positive <c>cpu MHz : N</c> of /proc/cpuinfo's <paramref name="lines"/>, in kHz (rounded), if any.</summary>
    internal static long? ParseCpuKhz(IEnumerable<string> lines)
    {
        foreach (string line in lines)
        {
            if (line.StartsWith("cpu MHz", StringComparison.Ordinal)
                && double.TryParse(line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out double mhz)
                && mhz > 0)
            {
                return (long)Math.Round(mhz * 1000);
            }
        }

        return null;
    }

    /// <summary>
    /// Escapes a value for a QEMU <c>key=value,...</c> option (QemuOpts/keyval: <c>-drive</c>, <c>-qmp</c>/chardev,
    /// <c>-device</c>, ...): a comma is doubled; nothing else is special there. Every such value built from a path goes
    /// through this.
    /// </summary>
    internal static string EscapeOption(string value) => value.Replace(",", ",,", StringComparison.Ordinal);
}
