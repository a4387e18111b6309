using Microsoft.Extensions.Logging;

namespace Virtualization.Core.Vmm;

/// <summary>Log messages of the guest console's host end (<see cref="GuestConsole"/>) and of the VM control requests.</summary>
internal static partial class ConsoleLog
{
    /// <summary>The logger category that receives every guest console line at <see cref="LogLevel.Debug"/>.</summary>
    internal const string LineCategory = "Virtualization.Core.GuestConsole";

    // The VM's CID is in the logger's scope (VmLogger), not in the messages.
    [LoggerMessage(200, LogLevel.Debug, "Console: {Line}")]
    internal static partial void ConsoleLine(ILogger logger, string line);

    [LoggerMessage(201, LogLevel.Warning, "Console input failed: its source stream threw; the guest console input was ended")]
    internal static partial void ConsoleInputSourceFailed(ILogger logger, Exception exception);

    [LoggerMessage(202, LogLevel.Debug, "Control request {Operation} done")]
    internal static partial void ControlDone(ILogger logger, string operation);

    [LoggerMessage(203, LogLevel.Warning, "Control request {Operation} failed")]
    internal static partial void ControlFailed(ILogger logger, string operation, Exception exception);
}
