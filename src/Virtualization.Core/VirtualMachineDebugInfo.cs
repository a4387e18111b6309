namespace Virtualization.Core;

/// <summary>A snapshot of one VM held by a service, for diagnostics (<see cref="IVirtualizationService.DebugListVms"/>).</summary>
/// <param name="Cid">The VM's vsock context id.</param>
/// <param name="State">Its state when the snapshot was taken.</param>
/// <param name="TemporaryDirectory">Its private temporary folder (deleted once it is dead).</param>
/// <param name="ProcessId">The VMM's process id while it runs, else <see langword="null"/>.</param>
/// <param name="CreatedAt">When the VM was created.</param>
public sealed record VirtualMachineDebugInfo(
    int Cid,
    VirtualMachineState State,
    string TemporaryDirectory,
    int? ProcessId,
    DateTimeOffset CreatedAt);
