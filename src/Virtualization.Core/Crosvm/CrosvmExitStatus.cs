namespace Virtualization.Core.Crosvm;

/// <summary>crosvm's exit codes under <c>--extended-status</c> (crosvm.md §3.4) and what they mean for a VM.</summary>
internal static class CrosvmExitStatus
{
    internal const int Stop = 0;
    internal const int Error = 1;
    internal const int Reset = 32;
    internal const int Crash = 33;
    internal const int GuestPanic = 34;
    internal const int InvalidArguments = 35;
    internal const int WatchdogReset = 36;

    /// <summary>The death reason for an exit code of a VMM that was up and was not killed by this library.</summary>
    internal static DeathReason ToDeathReason(int exitCode) => exitCode switch
    {
        Stop => DeathReason.Shutdown,
        Reset => DeathReason.Reboot,
        Crash => DeathReason.Crash,
        GuestPanic => DeathReason.GuestPanic,
        WatchdogReset => DeathReason.Watchdog,
        _ => DeathReason.Error,
    };
}
