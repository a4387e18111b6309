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

    /// <summary>The VM's CID.</summary>
    public int Cid { get; }

    /// <summary>Why the VM died.</summary>
    public DeathReason Reason { get; }

    /// <summary>The state that was awaited.</summary>
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
