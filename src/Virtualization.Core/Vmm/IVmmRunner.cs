namespace Virtualization.Core.Vmm;

/// <summary>
/// Launches one kind of VMM (crosvm, QEMU). <see cref="Lifecycle.VmInstance"/> only talks to this abstraction and to
/// the <see cref="IVmmProcess"/> it returns, so it does not know which VMM it drives.
/// </summary>
internal interface IVmmRunner
{
    /// <summary>A short name for messages and logs (<c>crosvm</c>, <c>qemu</c>).</summary>
    string Name { get; }

    /// <summary>
    /// Whether the VMM reads crosvm composite-disk descriptors. If not, a disk made of partitions is materialised as one
    /// raw GPT image (read-only partitions only).
    /// </summary>
    bool ReadsCompositeDisks { get; }

    /// <summary>The longest <see cref="VirtualMachineRawConfig.Params"/> this VMM accepts, in bytes.</summary>
    int MaxParamsLength { get; }

    /// <summary>
    /// Checks what only this VMM cares about (for example paths it cannot express). Runs at create time, before anything
    /// is reserved.
    /// </summary>
    /// <exception cref="VirtualMachineConfigException">The configuration cannot run on this VMM.</exception>
    void Validate(VirtualMachineRawConfig config);

    /// <summary>Launches the VMM. Returns once the process exists; use <see cref="IVmmProcess.WaitUntilReadyAsync"/>.</summary>
    /// <exception cref="VirtualMachineStartException">The process could not be launched.</exception>
    Task<IVmmProcess> LaunchAsync(VmmLaunchRequest request, CancellationToken cancellationToken);
}
