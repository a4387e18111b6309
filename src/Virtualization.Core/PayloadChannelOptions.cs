namespace Virtualization.Core;

/// <summary>
/// Opts a VM in to the payload lifecycle channel: a guest agent reports that its payload started, is ready, finished
/// or failed, and the VM's <see cref="IVirtualMachine.State"/>, callbacks and <see cref="IVirtualMachine.WaitForStateAsync"/>
/// follow (docs/payload-protocol.md). Without it a VM stays <see cref="VirtualMachineState.Starting"/> until it dies
/// and no watchdog runs.
/// </summary>
/// <example>
/// <code>
/// var config = new VirtualMachineRawConfig
/// {
///     Kernel = "vmlinuz",
///     Initrd = "initramfs.cpio.gz",
///     PayloadChannel = new PayloadChannelOptions { Stdio = true, StartTimeout = TimeSpan.FromSeconds(60) },
/// };
/// </code>
/// </example>
public sealed record PayloadChannelOptions
{
    /// <summary>How the guest reaches the host. Default <see cref="PayloadTransport.Serial"/>, which works everywhere.</summary>
    public PayloadTransport Transport { get; init; } = PayloadTransport.Serial;

    /// <summary>
    /// Whether the payload gets a stdio port: a second port whose bytes are the payload's stdout (guest → host) and stdin
    /// (host → guest), handed to <see cref="IVirtualMachineCallback.OnPayloadStarted"/>. Default <see langword="false"/>
    /// (the stream is then <see langword="null"/>).
    /// </summary>
    public bool Stdio { get; init; }

    /// <summary>
    /// How long after <see cref="IVirtualMachine.StartAsync"/> returns the payload may take to report that it started
    /// before the VM is killed with <see cref="DeathReason.Hangup"/>. <see langword="null"/> (the default) uses
    /// <see cref="VirtualizationServiceOptions.PayloadStartTimeout"/>; <see cref="Timeout.InfiniteTimeSpan"/> turns the
    /// watchdog off for this VM.
    /// </summary>
    public TimeSpan? StartTimeout { get; init; }
}
