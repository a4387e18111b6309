using System.Text.RegularExpressions;

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
    /// Whether the VM's vCPUs are paused by <see cref="SuspendAsync"/> (and not resumed since). Orthogonal to
    /// <see cref="State"/>: a suspended VM keeps its state (Starting ... Finished); a dead VM is never suspended. Never blocks.
    /// </summary>
    bool IsSuspended { get; }

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

    /// <summary>
    /// Pauses the guest: its vCPUs stop (crosvm <c>suspend</c>, QEMU QMP <c>stop</c>); devices and the VMM keep running,
    /// so the VM stays alive and its state does not change. Completes once the VMM confirmed; then
    /// <see cref="IsSuspended"/> is true. Idempotent: suspending a suspended VM does nothing. <see cref="Kill"/>,
    /// <see cref="StopAsync"/> and disposal work on a suspended VM (a graceful stop resumes it first where the VMM needs it).
    /// </summary>
    /// <param name="cancellationToken">Stops waiting for an earlier suspend, resume or balloon request of this VM; once
    /// this request was sent to the VMM it is completed.</param>
    /// <exception cref="VirtualMachineNotRunningException">The VM has not been started, is still starting, is being killed, or is dead.</exception>
    /// <exception cref="VirtualMachineControlException">The VMM refused or failed the request; the VM is still running.</exception>
    /// <exception cref="ObjectDisposedException">The VM was disposed.</exception>
    Task SuspendAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Resumes a suspended guest (crosvm <c>resume</c>, QEMU QMP <c>cont</c>). Completes once the VMM confirmed; then
    /// <see cref="IsSuspended"/> is false. Idempotent: resuming a VM that is not suspended does nothing.
    /// </summary>
    /// <param name="cancellationToken">Stops waiting for an earlier control request of this VM; once this request was
    /// sent to the VMM it is completed.</param>
    /// <exception cref="VirtualMachineNotRunningException">The VM has not been started, is still starting, is being killed, or is dead.</exception>
    /// <exception cref="VirtualMachineControlException">The VMM refused or failed the request.</exception>
    /// <exception cref="ObjectDisposedException">The VM was disposed.</exception>
    Task ResumeAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Sets the memory balloon's target size: <paramref name="balloonBytes"/> is the memory taken <em>from</em> the guest
    /// (crosvm's and Android's meaning; for QEMU, whose <c>balloon</c> command takes the memory the guest keeps, the
    /// library sends guest memory minus <paramref name="balloonBytes"/>). 0 deflates the balloon completely. Returns once
    /// the VMM has the new target; the guest's driver then inflates or deflates in its own time
    /// (<see cref="GetMemoryBalloonStatsAsync"/> shows the progress). The guest needs the virtio-balloon driver.
    /// </summary>
    /// <param name="balloonBytes">The balloon size in bytes: at least 0 and less than the guest's memory.</param>
    /// <param name="cancellationToken">Stops waiting for an earlier control request of this VM.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="balloonBytes"/> is negative, or not less than the guest's memory.</exception>
    /// <exception cref="VirtualMachineNotRunningException">The VM has not been started, is still starting, is being killed, or is dead.</exception>
    /// <exception cref="VirtualMachineControlException">The VMM refused or failed the request (for example crosvm run with <c>--no-balloon</c>).</exception>
    /// <exception cref="ObjectDisposedException">The VM was disposed.</exception>
    Task SetMemoryBalloonAsync(long balloonBytes, CancellationToken cancellationToken = default);

    /// <summary>Reads the memory balloon's size and the guest's memory statistics.</summary>
    /// <param name="cancellationToken">Stops waiting for an earlier control request of this VM.</param>
    /// <returns>The balloon and the guest's statistics (each null until the guest reported it).</returns>
    /// <exception cref="VirtualMachineNotRunningException">The VM has not been started, is still starting, is being killed, or is dead.</exception>
    /// <exception cref="VirtualMachineControlException">The VMM refused or failed the request.</exception>
    /// <exception cref="ObjectDisposedException">The VM was disposed.</exception>
    Task<MemoryBalloonStats> GetMemoryBalloonStatsAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Opens the guest console's input: bytes written to the returned stream reach the guest's serial console
    /// (<c>ttyS0</c>) as if typed. Writes never hold the VM's lock and never hold up the VM or its death; once the VMM has
    /// exited they throw <see cref="IOException"/>. Disposing the stream ends the input (the VMM reads end-of-file and
    /// stops reading its console input for good); the VM keeps running. The input can be taken once per VM, by this
    /// method or by <see cref="CopyToConsoleInputAsync"/>.
    /// </summary>
    /// <returns>A write-only, non-seekable stream.</returns>
    /// <exception cref="VirtualMachineNotRunningException">The VM has not been started, is still starting, or is dead.</exception>
    /// <exception cref="InvalidOperationException">The console input was already taken.</exception>
    /// <exception cref="ObjectDisposedException">The VM was disposed.</exception>
    Stream OpenConsoleInput();

    /// <summary>
    /// Feeds <paramref name="source"/> to the guest console (see <see cref="OpenConsoleInput"/>) until it ends, then ends
    /// the input (the VM keeps running). A source that stalls never holds up the VM: when the VM dies, the copy is
    /// abandoned and the task completes. The input can be taken once per VM.
    /// </summary>
    /// <param name="source">What to type into the guest, for example the host's stdin. Not disposed.</param>
    /// <param name="cancellationToken">Stops the copy (and ends the input).</param>
    /// <returns>Completes when <paramref name="source"/> ended or the VM died; faults with the source's exception if
    /// reading it failed (the input is then ended, the VM keeps running).</returns>
    /// <exception cref="VirtualMachineNotRunningException">The VM has not been started, is still starting, or is dead.</exception>
    /// <exception cref="InvalidOperationException">The console input was already taken.</exception>
    /// <exception cref="ObjectDisposedException">The VM was disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    /// <exception cref="ArgumentException"><paramref name="source"/> cannot be read.</exception>
    Task CopyToConsoleInputAsync(Stream source, CancellationToken cancellationToken = default);

    /// <summary>
    /// Waits for a guest console line that contains <paramref name="text"/> (ordinal comparison), like testcontainers'
    /// "wait for log message". Recent lines count too: the wait looks at the last 16 KiB of console lines first, so a
    /// line printed just before the call is not missed. The console is observed whether or not a console output stream
    /// was given, without taking anything from that stream. Lines are cut at 4 KiB; a trailing <c>\r</c> is removed.
    /// </summary>
    /// <param name="text">The text to look for; not empty.</param>
    /// <param name="timeout">How long to wait; <see cref="Timeout.InfiniteTimeSpan"/> for no limit.</param>
    /// <param name="cancellationToken">Stops waiting (the VM is not affected).</param>
    /// <returns>The first matching line.</returns>
    /// <exception cref="VirtualMachineDiedException">The VM died (or was dead) before such a line appeared; its
    /// <see cref="VirtualMachineDiedException.Reason"/> says why.</exception>
    /// <exception cref="TimeoutException"><paramref name="timeout"/> passed first; the VM is still running.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired first.</exception>
    /// <exception cref="ArgumentException"><paramref name="text"/> is null or empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative (other than <see cref="Timeout.InfiniteTimeSpan"/>) or longer than about 24 days.</exception>
    Task<string> WaitForConsoleLineAsync(string text, TimeSpan timeout, CancellationToken cancellationToken = default);

    /// <summary>
    /// Waits for a guest console line that <paramref name="pattern"/> matches; otherwise as
    /// <see cref="WaitForConsoleLineAsync(string, TimeSpan, CancellationToken)"/>. A <see cref="RegexMatchTimeoutException"/>
    /// of the pattern fails the wait with it.
    /// </summary>
    /// <param name="pattern">The pattern a line must match.</param>
    /// <param name="timeout">How long to wait; <see cref="Timeout.InfiniteTimeSpan"/> for no limit.</param>
    /// <param name="cancellationToken">Stops waiting (the VM is not affected).</param>
    /// <returns>The first matching line.</returns>
    /// <exception cref="VirtualMachineDiedException">The VM died (or was dead) before such a line appeared.</exception>
    /// <exception cref="TimeoutException"><paramref name="timeout"/> passed first; the VM is still running.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired first.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative (other than <see cref="Timeout.InfiniteTimeSpan"/>) or longer than about 24 days.</exception>
    Task<string> WaitForConsoleLineAsync(Regex pattern, TimeSpan timeout, CancellationToken cancellationToken = default);

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
