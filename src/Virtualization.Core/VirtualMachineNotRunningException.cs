namespace Virtualization.Core;

/// <summary>
/// An operation that needs a running VM (suspend, resume, the memory balloon, console input) was called on a VM that
/// has not been started, is still starting, is being killed, or is dead. <see cref="State"/> and
/// <see cref="DeathReason"/> say which; the message says what to do.
/// </summary>
public sealed class VirtualMachineNotRunningException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="cid">The VM's CID.</param>
    /// <param name="operation">What was asked, for the message (for example <c>suspend</c>).</param>
    /// <param name="state">The VM's state when it was asked.</param>
    /// <param name="deathReason">Why the VM died, when it is dead.</param>
    /// <param name="innerException">What failed when the VM died during the operation, if anything.</param>
    public VirtualMachineNotRunningException(int cid, string operation, VirtualMachineState state, DeathReason? deathReason, Exception? innerException = null)
        : base(Describe(cid, operation, state, deathReason), innerException)
    {
        Cid = cid;
        State = state;
        DeathReason = deathReason;
    }

    /// <summary>The VM's CID.</summary>
    public int Cid { get; }

    /// <summary>The VM's state when the operation was asked.</summary>
    public VirtualMachineState State { get; }

    /// <summary>Why the VM died, when it is <see cref="VirtualMachineState.Dead"/>; otherwise <see langword="null"/>.</summary>
    public DeathReason? DeathReason { get; }

    private static string Describe(int cid, string operation, VirtualMachineState state, DeathReason? reason) => (state, reason) switch
    {
        (VirtualMachineState.NotStarted, _) => $"Cannot {operation} VM with CID {cid}: it has not been started. Await StartAsync first.",
        (VirtualMachineState.Dead, { } why) => $"Cannot {operation} VM with CID {cid}: it is dead ({why}). Create and start a new VM.",
        _ => $"Cannot {operation} VM with CID {cid}: it is not running ({state}; it is still starting or is being killed). "
            + "Await StartAsync before driving the VM.",
    };
}
