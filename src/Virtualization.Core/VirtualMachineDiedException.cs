namespace Virtualization.Core;

/// <summary>
/// The VM died before reaching the state a caller waited for with <see cref="IVirtualMachine.WaitForStateAsync"/>.
/// <see cref="Reason"/> says why; the VM's console, its log and <see cref="IVirtualMachineCallback.OnError"/> usually say more.
/// </summary>
public sealed class VirtualMachineDiedException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="cid">The VM's CID.</param>
    /// <param name="reason">Why the VM died.</param>
    /// <param name="awaitedState">The state that was awaited.</param>
    /// <param name="reachedState">The last state the VM was in before it died.</param>
    public VirtualMachineDiedException(int cid, DeathReason reason, VirtualMachineState awaitedState, VirtualMachineState reachedState)
        : base($"VM with CID {cid} died ({reason}) in state {reachedState}, before reaching {awaitedState}. "
            + Advice(reason))
    {
        Cid = cid;
        Reason = reason;
        AwaitedState = awaitedState;
        ReachedState = reachedState;
    }

    /// <summary>Creates the exception for a wait that was not for a state (a console line, see
    /// <see cref="IVirtualMachine.WaitForConsoleLineAsync(string, TimeSpan, CancellationToken)"/>); <see cref="AwaitedState"/>
    /// is then <see cref="VirtualMachineState.Dead"/> and <paramref name="awaited"/> says what was awaited.</summary>
    /// <param name="cid">The VM's CID.</param>
    /// <param name="reason">Why the VM died.</param>
    /// <param name="reachedState">The last state the VM was in before it died.</param>
    /// <param name="awaited">What was awaited, for the message (for example <c>a console line containing "ready"</c>).</param>
    public VirtualMachineDiedException(int cid, DeathReason reason, VirtualMachineState reachedState, string awaited)
        : base($"VM with CID {cid} died ({reason}) in state {reachedState} before {awaited} appeared. " + Advice(reason))
    {
        Cid = cid;
        Reason = reason;
        AwaitedState = VirtualMachineState.Dead;
        ReachedState = reachedState;
    }

    /// <summary>The VM's CID.</summary>
    public int Cid { get; }

    /// <summary>Why the VM died.</summary>
    public DeathReason Reason { get; }

    /// <summary>The state that was awaited; <see cref="VirtualMachineState.Dead"/> when the wait was for a console line.</summary>
    public VirtualMachineState AwaitedState { get; }

    /// <summary>The last state the VM was in before it died.</summary>
    public VirtualMachineState ReachedState { get; }

    private static string Advice(DeathReason reason) => reason switch
    {
        DeathReason.Hangup => "Its payload did not report that it started within the payload start timeout: check that the guest "
            + "runs a payload agent on the configured transport, or raise PayloadChannelOptions.StartTimeout.",
        DeathReason.Killed => "It was killed by this process (Kill, StopAsync timing out, or disposal).",
        DeathReason.StartFailed => "Its VMM did not start; StartAsync threw the details.",
        _ => "Check the guest console and the VMM's log; OnError reports payload errors.",
    };
}
