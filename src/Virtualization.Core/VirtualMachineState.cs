namespace Virtualization.Core;

/// <summary>
/// The lifecycle state of a virtual machine, with Android's stable numbering
/// (<c>VirtualMachineState.aidl</c>; 5 is unused since <see cref="Dead"/> moved to 6).
/// </summary>
public enum VirtualMachineState
{
    /// <summary>Created by <see cref="IVirtualizationService.CreateVmAsync"/>; the VMM has not been launched.</summary>
    NotStarted = 0,

    /// <summary>
    /// The VMM is running (or being launched); the payload has not reported that it started. A VM without a
    /// <see cref="VirtualMachineRawConfig.PayloadChannel"/> stays here until it dies.
    /// </summary>
    Starting = 1,

    /// <summary>The payload in the guest has started but is not ready yet (reported over the payload channel).</summary>
    Started = 2,

    /// <summary>The payload reported that it is ready to serve.</summary>
    Ready = 3,

    /// <summary>The payload finished or reported an error; the VM itself is still running (until the guest powers off).</summary>
    Finished = 4,

    /// <summary>The VM has died, was killed, or failed to start. This state is final.</summary>
    Dead = 6,
}
