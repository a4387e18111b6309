using Virtualization.Core;

namespace Virtualization.Cli;

/// <summary>VM states spelled as Android's <c>vm</c> tool prints them.</summary>
internal static class StateNames
{
    /// <summary>The SCREAMING_CASE name of <paramref name="state"/> (for example <c>NOT_STARTED</c>).</summary>
    public static string Of(VirtualMachineState state) => state switch
    {
        VirtualMachineState.NotStarted => "NOT_STARTED",
        VirtualMachineState.Starting => "STARTING",
        VirtualMachineState.Started => "STARTED",
        VirtualMachineState.Ready => "READY",
        VirtualMachineState.Finished => "FINISHED",
        VirtualMachineState.Dead => "DEAD",
        _ => "(invalid state)",
    };
}
