namespace Virtualization.Core;

/// <summary>
/// One virtual machine. Created in <see cref="VirtualMachineState.NotStarted"/> by
/// <see cref="IVirtualizationService.CreateVmAsync"/>; <see cref="StartAsync"/> launches its VMM; it ends
/// <see cref="VirtualMachineState.Dead"/>. Disposing it kills it (if running) and frees its CID and folder.
/// </summary>
/// <remarks>All members are thread-safe. Reading <see cref="State"/> never blocks.</remarks>
public interface IVirtualMachine : IAsyncDisposable
{
    /// <summary>The VM's vsock context id, unique among live VMs on this host.</summary>
    int Cid { get; }

    /// <summary>The current state. Never blocks.</summary>
    VirtualMachineState State { get; }

    /// <summary>Why the VM died, once it is <see cref="VirtualMachineState.Dead"/>; otherwise <see langword="null"/>.</summary>
    DeathReason? DeathReason { get; }

    /// <summary>
    /// Registers <paramref name="callback"/> for this VM's events. If the VM is already dead,
    /// <see cref="IVirtualMachineCallback.OnDied"/> is delivered at once.
    /// </summary>
    /// <param name="callback">The receiver of events.</param>
    /// <returns>Dispose it to unregister; no event is delivered to the callback after that.</returns>
    /// <exception cref="ObjectDisposedException">The VM was disposed.</exception>
    IDisposable RegisterCallback(IVirtualMachineCallback callback);

    /// <summary>
    /// Launches the VMM and returns once it is up (its control socket answers). A VM starts at most once.
    /// </summary>
    /// <param name="cancellationToken">Cancels the start: the VMM, if launched, is killed and the VM is dead.</param>
    /// <exception cref="InvalidOperationException">The VM is not <see cref="VirtualMachineState.NotStarted"/>, or another start is under way.</exception>
    /// <exception cref="VirtualMachineStartException">
    /// The VMM could not be launched or exited before it was up. The VM is then <see cref="VirtualMachineState.Dead"/>
    /// with <see cref="Core.DeathReason.StartFailed"/>; create a new one to try again.
    /// </exception>
    /// <exception cref="ObjectDisposedException">The VM was disposed.</exception>
    Task StartAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Stops the VM gracefully (crosvm <c>stop</c>, QEMU power-down) and kills it when it has not exited within
    /// <see cref="VirtualizationServiceOptions.StopGracePeriod"/>. Completes when the VM is dead and cleaned up.
    /// A VM that never started becomes dead at once; a dead VM is left as it is.
    /// </summary>
    /// <param name="cancellationToken">Skips the rest of the grace period: the VM is killed at once.</param>
    Task StopAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Kills the VM now (SIGKILL to the VMM's process group). Returns at once; use <see cref="WaitForDeathAsync"/>
    /// to wait for the death to be processed. No-op on a dead VM.
    /// </summary>
    void Kill();

    /// <summary>
    /// Waits until the VM is dead, its <see cref="IVirtualMachineCallback.OnDied"/> callbacks were delivered and its
    /// folder and CID were released.
    /// </summary>
    /// <param name="cancellationToken">Stops waiting (the VM is not affected).</param>
    /// <returns>Why the VM died.</returns>
    Task<DeathReason> WaitForDeathAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Waits until the VM reaches <paramref name="state"/> or a later one (states only move forward:
    /// NotStarted &lt; Starting &lt; Started &lt; Ready &lt; Finished &lt; Dead). A payload state that was skipped counts
    /// as passed. Completes at once if the VM is already there. Nothing is polled.
    /// </summary>
    /// <param name="state">The state to wait for. Payload states (<see cref="VirtualMachineState.Started"/> and later) are
    /// only reached by VMs with a <see cref="VirtualMachineRawConfig.PayloadChannel"/>.</param>
    /// <param name="cancellationToken">Stops waiting (the VM is not affected).</param>
    /// <returns>The state when the wait completed: <paramref name="state"/> or a later one (<see cref="VirtualMachineState.Dead"/>
    /// if the VM reached <paramref name="state"/> and died since).</returns>
    /// <exception cref="VirtualMachineDiedException">The VM died before reaching <paramref name="state"/>; its
    /// <see cref="VirtualMachineDiedException.Reason"/> says why. Waiting for <see cref="VirtualMachineState.Dead"/> never throws this.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="state"/> is not a defined state.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired first.</exception>
    Task<VirtualMachineState> WaitForStateAsync(VirtualMachineState state, CancellationToken cancellationToken = default);

    /// <summary>Opens a vsock connection to <paramref name="port"/> in the guest.</summary>
    /// <param name="port">The guest port; must not be negative.</param>
    /// <param name="cancellationToken">Cancels the connection attempt.</param>
    /// <returns>
    /// The connection (the same type <see cref="VsockListener.AcceptAsync"/> hands out): its <see cref="VsockConnection.Stream"/>
    /// and both ends' addresses. Dispose it (or its stream) to close it.
    /// </returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="port"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">The VM is not running.</exception>
    /// <exception cref="VsockException">Nothing listens on the port, the connection timed out (<see cref="VirtualizationServiceOptions.VsockConnectTimeout"/>), or the host has no vsock transport.</exception>
    Task<VsockConnection> ConnectVsockAsync(int port, CancellationToken cancellationToken = default);
}
