namespace Virtualization.Core.Vmm;

/// <summary>A launched VMM process.</summary>
internal interface IVmmProcess
{
    /// <summary>The VMM's process id.</summary>
    int ProcessId { get; }

    /// <summary>Completes, never faulting, once the VMM has exited and its output is drained.</summary>
    Task<VmmExit> Exited { get; }

    /// <summary>The last lines of the VMM's stderr.</summary>
    string StandardErrorTail { get; }

    /// <summary>
    /// Completes when the VMM is up (its control channel answers).
    /// </summary>
    /// <exception cref="VirtualMachineStartException">The VMM exited first, or did not come up within <paramref name="timeout"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    Task WaitUntilReadyAsync(TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>Asks the VMM to stop gracefully; does not wait for it to exit.</summary>
    Task RequestStopAsync(CancellationToken cancellationToken);

    /// <summary>SIGKILL to the VMM's process group; idempotent.</summary>
    void Kill();
}
