namespace Virtualization.Core.Vmm;

/// <summary>A launched VMM process.</summary>
internal interface IVmmProcess
{
    /// <summary>The pid of the VMM's supervising helper (the VM lives as long as it does).</summary>
    int ProcessId { get; }

    /// <summary>Completes, never faulting, once the VMM has exited and its output is drained (for a bounded time).</summary>
    Task<VmmExit> Exited { get; }

    /// <summary>The last lines of the VMM's stderr.</summary>
    string StandardErrorTail { get; }

    /// <summary>Completes when the VMM is up (its control channel answers).</summary>
    /// <param name="cancellationToken">The caller's token linked with the start deadline.</param>
    /// <exception cref="VirtualMachineStartException">The VMM exited before it was up.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    Task WaitUntilReadyAsync(CancellationToken cancellationToken);

    /// <summary>Asks the VMM to stop gracefully; does not wait for it to exit.</summary>
    Task RequestStopAsync(CancellationToken cancellationToken);

    /// <summary>Kills the VMM and its process group; idempotent, and a no-op once it has exited.</summary>
    void Kill();

    /// <summary>Pauses the guest's vCPUs (crosvm <c>suspend</c>, QMP <c>stop</c>); completes when the VMM confirmed.</summary>
    /// <exception cref="VirtualMachineControlException">The VMM refused or failed the request.</exception>
    Task SuspendAsync(CancellationToken cancellationToken);

    /// <summary>Resumes the guest's vCPUs (crosvm <c>resume</c>, QMP <c>cont</c>); completes when the VMM confirmed.</summary>
    /// <exception cref="VirtualMachineControlException">The VMM refused or failed the request.</exception>
    Task ResumeAsync(CancellationToken cancellationToken);

    /// <summary>Sets the balloon's target size: <paramref name="balloonBytes"/> taken from the guest.</summary>
    /// <exception cref="VirtualMachineControlException">The VMM refused or failed the request.</exception>
    Task SetBalloonAsync(long balloonBytes, CancellationToken cancellationToken);

    /// <summary>Reads the balloon's size and the guest's memory statistics.</summary>
    /// <exception cref="VirtualMachineControlException">The VMM refused or failed the request.</exception>
    Task<MemoryBalloonStats> GetBalloonStatsAsync(CancellationToken cancellationToken);
}
