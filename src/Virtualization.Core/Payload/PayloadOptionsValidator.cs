namespace Virtualization.Core.Payload;

/// <summary>Checks <see cref="VirtualMachineRawConfig.PayloadChannel"/> and the service's payload option.</summary>
internal static class PayloadOptionsValidator
{
    /// <summary>The longest timeout a timer can hold.</summary>
    private static readonly TimeSpan MaxTimeout = TimeSpan.FromMilliseconds(int.MaxValue);

    /// <exception cref="VirtualMachineConfigException">A payload setting is invalid.</exception>
    public static void Validate(PayloadChannelOptions? options)
    {
        if (options is null)
        {
            return;
        }

        if (!Enum.IsDefined(options.Transport))
        {
            throw new VirtualMachineConfigException(
                "PayloadChannel.Transport", $"{(int)options.Transport} is not a transport; use PayloadTransport.Serial or PayloadTransport.Vsock.");
        }

        if (options.StartTimeout is { } timeout && !IsValidTimeout(timeout))
        {
            throw new VirtualMachineConfigException(
                "PayloadChannel.StartTimeout",
                $"{timeout} is not a usable timeout; give a positive time up to {MaxTimeout.TotalDays:0} days, Timeout.InfiniteTimeSpan for no watchdog, or null for the service's PayloadStartTimeout.");
        }
    }

    /// <summary>Whether <paramref name="timeout"/> is positive and fits a timer, or is infinite.</summary>
    public static bool IsValidTimeout(TimeSpan timeout) =>
        timeout == Timeout.InfiniteTimeSpan || (timeout > TimeSpan.Zero && timeout <= MaxTimeout);
}
