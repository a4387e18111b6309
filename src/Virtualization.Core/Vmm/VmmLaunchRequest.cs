using Microsoft.Extensions.Logging;

namespace Virtualization.Core.Vmm;

/// <summary>Everything a runner needs to launch one VM.</summary>
/// <param name="Cid">The VM's vsock CID.</param>
/// <param name="Config">The validated configuration, with absolute paths.</param>
/// <param name="Disks">The disks as the VMM should see them (composite disks already assembled).</param>
/// <param name="TemporaryDirectory">The VM's private folder (control sockets go here).</param>
/// <param name="ConsoleOutput">Where the guest console goes, or <see langword="null"/> to discard it.</param>
/// <param name="Logger">The VM's logger.</param>
internal sealed record VmmLaunchRequest(
    int Cid,
    VirtualMachineRawConfig Config,
    IReadOnlyList<VmmDisk> Disks,
    string TemporaryDirectory,
    Stream? ConsoleOutput,
    ILogger Logger);
