using Virtualization.Core.Disks;

namespace Virtualization.Core.Vmm;

/// <summary>
/// Launches one kind of VMM (crosvm, QEMU). The service and <see cref="Lifecycle.VmInstance"/> only talk to this
/// abstraction and to the <see cref="IVmmProcess"/> it returns: each runner owns its checks, its disk preparation, its
/// socket names and its argv, so nobody else branches on which VMM runs.
/// </summary>
internal interface IVmmRunner
{
    /// <summary>A short name for messages and logs (<c>crosvm</c>, <c>qemu</c>).</summary>
    string Name { get; }

    /// <summary>The longest <see cref="VirtualMachineRawConfig.Params"/> this VMM accepts, in bytes.</summary>
    int MaxParamsLength { get; }

    /// <summary>Checks, when the service is built, that this VMM's sockets fit in a VM folder as long as <paramref name="longestVmFolder"/>.</summary>
    /// <exception cref="ArgumentException">A socket path would exceed the limit of Unix socket paths.</exception>
    void CheckSocketPaths(string longestVmFolder);

    /// <summary>
    /// Checks what only this VMM cares about (for example paths it cannot express). Runs at create time, before anything
    /// is reserved.
    /// </summary>
    /// <exception cref="VirtualMachineConfigException">The configuration cannot run on this VMM.</exception>
    void Validate(VirtualMachineRawConfig config);

    /// <summary>The disks as this VMM reads them, made in the VM's private <paramref name="folder"/> where needed.</summary>
    /// <param name="config">The validated configuration.</param>
    /// <param name="plans">For each disk, the layout of its partitions, or null for a plain image.</param>
    /// <param name="folder">The VM's private folder.</param>
    /// <param name="cancellationToken">Cancels the preparation.</param>
    Task<VmmDisk[]> PrepareDisksAsync(VirtualMachineRawConfig config, IReadOnlyList<CompositeDiskPlan?> plans, string folder, CancellationToken cancellationToken);

    /// <summary>Launches the VMM. Returns once the process exists; use <see cref="IVmmProcess.WaitUntilReadyAsync"/>.</summary>
    /// <exception cref="VirtualMachineStartException">The process could not be launched.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired; nothing is left running.</exception>
    Task<IVmmProcess> LaunchAsync(VmmLaunchRequest request, CancellationToken cancellationToken);
}
