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
    /// <summary>The payload in the guest started; <paramref name="stream"/> is its input/output, if it has one.</summary>
    /// <param name="cid">The VM's vsock context id.</param>
    /// <param name="stream">The payload's stdio stream, or <see langword="null"/>.</param>
    void OnPayloadStarted(int cid, Stream? stream) { }

    /// <summary>The payload reported that it is ready to serve.</summary>
    /// <param name="cid">The VM's vsock context id.</param>
    void OnPayloadReady(int cid) { }

    /// <summary>The payload finished; the VM keeps running.</summary>
    /// <param name="cid">The VM's vsock context id.</param>
    /// <param name="exitCode">The payload's exit code.</param>
    void OnPayloadFinished(int cid, int exitCode) { }

    /// <summary>The payload or the VMM reported an error.</summary>
    /// <param name="cid">The VM's vsock context id.</param>
    /// <param name="errorCode">An error code defined by the reporter.</param>
    /// <param name="message">What went wrong.</param>
    void OnError(int cid, int errorCode, string message) { }

    /// <summary>
    /// The VM died. Called exactly once per registration: also at once for a callback registered on a VM that is
    /// already dead.
    /// </summary>
    /// <param name="cid">The VM's vsock context id.</param>
    /// <param name="reason">Why it died.</param>
    void OnDied(int cid, DeathReason reason) { }
}
