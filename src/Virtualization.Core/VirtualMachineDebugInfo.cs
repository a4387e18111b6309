namespace Virtualization.Core;

/// <summary>A snapshot of one VM held by a service, for diagnostics (<see cref="IVirtualizationService.DebugListVms"/>).</summary>
/// <param name="Cid">The VM's vsock context id.</param>
/// <param name="State">Its state when the snapshot was taken.</param>
/// <param name="TemporaryDirectory">Its private temporary folder (deleted once it is dead).</param>
/// <param name="ProcessId">
/// While the VM runs, the pid of its VMM's supervisor (<c>vcore-exec</c>, which leads the session holding the VMM and
/// everything it started, and lives exactly as long as the VMM), else <see langword="null"/>. For diagnostics only: never
/// signal it yourself (use <see cref="IVirtualMachine.Kill"/>).
/// </param>
/// <param name="CreatedAt">When the VM was created.</param>
public sealed record VirtualMachineDebugInfo(
    int Cid,
    VirtualMachineState State,
    string TemporaryDirectory,
    int? ProcessId,
    DateTimeOffset CreatedAt);
