using Microsoft.Extensions.Logging;

namespace Virtualization.Core.Vmm;

/// <summary>Everything a runner needs to launch one VM.</summary>
/// <param name="Cid">The VM's vsock CID.</param>
/// <param name="Config">The validated configuration, with absolute paths.</param>
/// <param name="Disks">The disks as the VMM should see them (composite disks already assembled).</param>
/// <param name="TemporaryDirectory">The VM's private folder (control sockets go here).</param>
/// <param name="ConsoleOutput">Where the guest console goes, or <see langword="null"/> when only <see cref="Console"/> observes it.</param>
/// <param name="Logger">The VM's logger.</param>
internal sealed record VmmLaunchRequest(
    int Cid,
    VirtualMachineRawConfig Config,
    IReadOnlyList<VmmDisk> Disks,
    string TemporaryDirectory,
    Stream? ConsoleOutput,
    ILogger Logger)
{
    /// <summary>The host end of the guest console: output, line waits and input. One per VM.</summary>
    internal GuestConsole Console { get; init; } = new(ConsoleOutput, Logger, Logger, Cid);

    /// <summary>The guest's memory in bytes: <see cref="VirtualMachineRawConfig.MemoryMib"/>, or both VMMs' default of 256 MiB.</summary>
    internal long GuestMemoryBytes => (Config.MemoryMib > 0 ? Config.MemoryMib : 256) * 1024L * 1024L;
}
