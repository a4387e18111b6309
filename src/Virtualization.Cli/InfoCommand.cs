using Virtualization.Core;

namespace Virtualization.Cli;

/// <summary>
/// <c>vm info</c>: what this host offers for running VMs (VMMs, KVM, vsock, the temporary root, the VMM launcher), with
/// the fix for each missing piece. A printer for <see cref="HostCapabilities"/> (public API only).
/// </summary>
internal sealed class InfoCommand
{
    private readonly TextWriter _out;

    /// <summary>Creates the command.</summary>
    /// <param name="stdout">Where the report goes.</param>
    public InfoCommand(TextWriter stdout) => _out = stdout;

    /// <summary>Probes the host and prints one line per item (plus a <c>fix:</c> line for each missing one).</summary>
    /// <returns>Always <see cref="ExitCodes.Success"/>: the report is informational.</returns>
    public async Task<int> RunAsync(InfoOptions options, CancellationToken cancellationToken)
    {
        HostCapabilities host = await HostCapabilities.ProbeAsync(
            new HostProbeOptions
            {
                CrosvmPath = options.CrosvmPath,
                QemuPath = options.QemuPath,
                KvmDevice = options.KvmDevice,
                VhostVsockDevice = options.VhostVsockDevice,
                VsockDevice = options.VsockDevice,
                LauncherPath = options.LauncherPath,
            },
            cancellationToken).ConfigureAwait(false);

        foreach (HostCapability item in host.Items)
        {
            if (item.IsAvailable)
            {
                _out.WriteLine($"[ok]      {item.Name}: {item.Detail}");
            }
            else
            {
                _out.WriteLine($"[missing] {item.Name}: {item.Detail}");
                if (item.Fix is not null)
                {
                    _out.WriteLine($"          fix: {item.Fix}");
                }
            }
        }

        string vmm = host.AutoVmm switch
        {
            VmmKind.Crosvm => "crosvm",
            VmmKind.Qemu => host.Kvm.IsAvailable ? "QEMU with KVM" : "QEMU with TCG (no usable KVM: slower)",
            _ => "none: install QEMU (apt-get install qemu-system-x86) or crosvm",
        };
        _out.WriteLine($"default VMM (--vmm auto): {vmm}");
        return ExitCodes.Success;
    }
}
