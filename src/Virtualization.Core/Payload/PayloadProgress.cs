namespace Virtualization.Core.Payload;

/// <summary>
/// The forward-only rule of payload states (Android's <c>update_payload_state</c>): a report is accepted only if it moves
/// the payload strictly forward (Starting &lt; Started &lt; Ready &lt; Finished; an error counts as Finished); a skipped
/// state is fine, a repeated or backward one is refused. Pure; the caller holds the VM's lock.
/// </summary>
internal static class PayloadProgress
{
    /// <summary>Why <paramref name="report"/> cannot be applied to a payload that has <paramref name="reached"/> a state; null if it can.</summary>
    public static string? Refusal(VirtualMachineState reached, PayloadReport report)
    {
        VirtualMachineState next = report.Target;
        if (next > reached)
        {
            return null;
        }

        return next == reached
            ? $"the payload is already {reached} (repeated report)"
            : $"the payload is already {reached}; payload states only move forward";
    }
}
