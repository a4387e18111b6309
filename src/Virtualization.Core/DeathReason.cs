namespace Virtualization.Core;

/// <summary>Why a virtual machine died, as reported to <see cref="IVirtualMachineCallback.OnDied"/>.</summary>
public enum DeathReason
{
    /// <summary>The reason could not be determined.</summary>
    Unknown = 0,

    /// <summary>The VM was killed by this library: <see cref="IVirtualMachine.Kill"/>, disposal, or a stop that ran out of grace period.</summary>
    Killed = 1,

    /// <summary>The VMM exited normally: the guest powered off, or a graceful stop succeeded (crosvm exit code 0).</summary>
    Shutdown = 2,

    /// <summary>The guest asked for a reset (crosvm exit code 32, QEMU <c>guest-reset</c>).</summary>
    Reboot = 3,

    /// <summary>A vCPU or device crashed (crosvm exit code 33).</summary>
    Crash = 4,

    /// <summary>The guest kernel panicked and said so through pvpanic (crosvm exit code 34, QEMU <c>GUEST_PANICKED</c>).</summary>
    GuestPanic = 5,

    /// <summary>The vCPU stall detector fired (crosvm exit code 36).</summary>
    Watchdog = 6,

    /// <summary>
    /// The payload did not report that it started within the payload start timeout
    /// (<see cref="VirtualizationServiceOptions.PayloadStartTimeout"/>, <see cref="PayloadChannelOptions.StartTimeout"/>),
    /// so the VM was killed.
    /// </summary>
    Hangup = 7,

    /// <summary>The VMM could not be launched, or exited before it was up.</summary>
    StartFailed = 8,

    /// <summary>The VMM failed: another exit code, or it was killed by a signal this library did not send.</summary>
    Error = 9,
}
