using Virtualization.Core.Disks;
using Virtualization.Core.Vmm;

namespace Virtualization.Core.Crosvm;

/// <summary>Runs VMs under crosvm: partitions become a composite-disk descriptor (no partition data is copied).</summary>
internal sealed class CrosvmRunner(string crosvmPath) : VmmRunner(crosvmPath)
{
    private static readonly string[] s_socketNames = [CrosvmCommandLine.ControlSocketName];

    /// <inheritdoc/>
    public override string Name => "crosvm";

    /// <summary>
    /// crosvm's command line is at most 2048 bytes with its NUL; crosvm prepends <c>panic=-1 console=ttyS0 </c> (and
    /// <c>root=</c> for root disks, which this library does not use), so 64 bytes are kept for it.
    /// </summary>
    public override int MaxParamsLength => 2048 - 64;

    /// <inheritdoc/>
    protected override IReadOnlyList<string> SocketNames => s_socketNames;

    /// <inheritdoc/>
    protected override Task<string> WritePartitionedDiskAsync(CompositeDiskPlan plan, string folder, string index, CancellationToken cancellationToken) =>
        Task.FromResult(CompositeDiskBuilder.Build(plan, folder, "composite-" + index).DescriptorPath);

    /// <inheritdoc/>
    protected override List<string> BuildArguments(VmmLaunchRequest request) =>
        CrosvmCommandLine.Build(request, consoleToStdout: request.ConsoleOutput is not null);

    /// <inheritdoc/>
    protected override IVmmProcess CreateProcess(VmmChildProcess child, string executable, VmmLaunchRequest request) =>
        new CrosvmProcess(child, executable, Path.Combine(request.TemporaryDirectory, CrosvmCommandLine.ControlSocketName), request.Logger);
}
