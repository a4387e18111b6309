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
}
