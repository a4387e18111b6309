namespace Virtualization.Core;

/// <summary>
/// Receives events of one virtual machine. Every method has an empty default, so implement only what you need.
/// </summary>
/// <remarks>
/// Callbacks of one VM are delivered in order, one at a time, on the thread pool and never while the library
/// holds a lock, so a callback may call back into the VM. <see cref="IVirtualMachine.WaitForDeathAsync"/> and
/// <see cref="IAsyncDisposable.DisposeAsync"/> complete only after every <c>OnDied</c> has returned: a callback may start
/// them but must not block waiting for them. An exception thrown by a callback is logged and does not stop delivery to
/// other callbacks.
/// </remarks>
public interface IVirtualMachineCallback
{
    /// <summary>
    /// The payload in the guest started (VMs with a <see cref="VirtualMachineRawConfig.PayloadChannel"/> only; not called
    /// if the guest skipped the report). Payload callbacks come at most once each, in order
    /// (started, ready, then finished or error), and always before <see cref="OnDied"/>.
    /// </summary>
    /// <param name="cid">The VM's vsock context id.</param>
    /// <param name="stream">
    /// The payload's stdio: reading gives its stdout, writing feeds its stdin (<see cref="PayloadChannelOptions.Stdio"/>).
    /// Only the first registered callback (in registration order, still registered when the event is delivered) gets it
    /// and then owns it: dispose it when done. Every other callback gets <see langword="null"/>, as do all callbacks when
    /// the VM has no stdio port. A stream no callback takes is closed when the VM dies. The stream ends when the VM dies.
    /// </param>
    void OnPayloadStarted(int cid, Stream? stream) { }

    /// <summary>The payload reported that it is ready to serve.</summary>
    /// <param name="cid">The VM's vsock context id.</param>
    void OnPayloadReady(int cid) { }

    /// <summary>
    /// The payload finished. The VM itself keeps running until the guest powers off (the reference agent does so at once).
    /// </summary>
    /// <param name="cid">The VM's vsock context id.</param>
    /// <param name="exitCode">The payload's exit code.</param>
    void OnPayloadFinished(int cid, int exitCode) { }

    /// <summary>
    /// The guest reported that its payload failed (it could not be started, or it crashed). This ends the payload: the
    /// state moves to <see cref="VirtualMachineState.Finished"/> and no <see cref="OnPayloadFinished"/> follows.
    /// </summary>
    /// <param name="cid">The VM's vsock context id.</param>
    /// <param name="errorCode">An error code defined by the guest's agent (the reference agent's are in <see cref="PayloadErrorCodes"/>).</param>
    /// <param name="message">What went wrong, as the guest said it.</param>
    void OnError(int cid, int errorCode, string message) { }

    /// <summary>
    /// The VM died. Called exactly once per registration: also at once for a callback registered on a VM that is
    /// already dead.
    /// </summary>
    /// <param name="cid">The VM's vsock context id.</param>
    /// <param name="reason">Why it died.</param>
    void OnDied(int cid, DeathReason reason) { }
}
