using Microsoft.Extensions.Logging;

namespace Virtualization.Core.Payload;

/// <summary>The payload channel's log messages (event ids 60-79).</summary>
internal static partial class PayloadLog
{
    [LoggerMessage(60, LogLevel.Debug, "Payload channel open: {Channel}")]
    internal static partial void ChannelOpened(ILogger logger, string channel);

    [LoggerMessage(61, LogLevel.Warning, "Closed the payload channel ({Channel}) after {Position} bytes: {Problem}. The VM keeps running; its payload state no longer changes")]
    internal static partial void ChannelRefused(ILogger logger, string channel, long position, string problem);

    [LoggerMessage(62, LogLevel.Debug, "Payload channel ({Channel}) ended after {Position} bytes")]
    internal static partial void ChannelEnded(ILogger logger, string channel, long position);

    [LoggerMessage(63, LogLevel.Warning, "Payload channel ({Channel}): {Problem}")]
    internal static partial void FrameIgnored(ILogger logger, string channel, string problem);

    [LoggerMessage(64, LogLevel.Warning, "Payload channel ({Channel}): {Count} frames ignored so far; further ignored frames are not logged")]
    internal static partial void IgnoredFramesNotLogged(ILogger logger, string channel, int count);

    [LoggerMessage(65, LogLevel.Information, "Payload reported {Report}: state {State}, {Elapsed} after StartAsync")]
    internal static partial void PayloadStateChanged(ILogger logger, string report, VirtualMachineState state, TimeSpan elapsed);

    [LoggerMessage(66, LogLevel.Warning, "Payload reported error {Code}: {Message}")]
    internal static partial void PayloadError(ILogger logger, int code, string message);

    [LoggerMessage(67, LogLevel.Warning, "Payload did not report that it started within {Timeout} (PayloadStartTimeout); killing the VM (DeathReason.Hangup)")]
    internal static partial void PayloadHangup(ILogger logger, TimeSpan timeout);

    [LoggerMessage(68, LogLevel.Warning, "Payload listener ({Channel}) refused a connection from {Peer}: only the VM's own CID may connect")]
    internal static partial void ForeignPeerRefused(ILogger logger, string channel, string peer);

    [LoggerMessage(69, LogLevel.Warning, "Payload listener ({Channel}) closed an extra connection: {Why}")]
    internal static partial void ExtraConnectionClosed(ILogger logger, string channel, string why);

    [LoggerMessage(70, LogLevel.Warning, "Payload channel ({Channel}) failed; it is closed and the VM keeps running")]
    internal static partial void ChannelFailed(ILogger logger, string channel, Exception exception);

    [LoggerMessage(71, LogLevel.Warning, "Payload started but its stdio port was not connected within {Timeout}; OnPayloadStarted gets a null stream")]
    internal static partial void StdioMissing(ILogger logger, TimeSpan timeout);

    [LoggerMessage(72, LogLevel.Debug, "Payload channel was still open {Timeout} after the VMM exited; reports after this point are lost")]
    internal static partial void DrainTimedOut(ILogger logger, TimeSpan timeout);

    [LoggerMessage(73, LogLevel.Warning, "Payload listener ({Channel}) stopped accepting")]
    internal static partial void AcceptFailed(ILogger logger, string channel, Exception exception);

    [LoggerMessage(74, LogLevel.Error, "Killing the VM after its payload hangup failed; it dies when its VMM exits")]
    internal static partial void HangupKillFailed(ILogger logger, Exception exception);
}
