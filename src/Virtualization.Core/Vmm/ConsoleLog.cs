using Microsoft.Extensions.Logging;

namespace Virtualization.Core.Vmm;

/// <summary>Log messages of the guest console's host end (<see cref="GuestConsole"/>) and of the VM control requests.</summary>
internal static partial class ConsoleLog
{
    /// <summary>The logger category that receives every guest console line at <see cref="LogLevel.Debug"/>.</summary>
    internal const string LineCategory = "Virtualization.Core.GuestConsole";

    [LoggerMessage(200, LogLevel.Debug, "CID {Cid} console: {Line}")]
    internal static partial void ConsoleLine(ILogger logger, int cid, string line);

    [LoggerMessage(201, LogLevel.Warning, "Console input of CID {Cid} failed: its source stream threw; the guest console input was ended")]
    internal static partial void ConsoleInputSourceFailed(ILogger logger, int cid, Exception exception);

    [LoggerMessage(202, LogLevel.Debug, "VM with CID {Cid}: {Operation} done")]
    internal static partial void ControlDone(ILogger logger, int cid, string operation);

    [LoggerMessage(203, LogLevel.Warning, "VM with CID {Cid}: {Operation} failed")]
    internal static partial void ControlFailed(ILogger logger, int cid, string operation, Exception exception);
}
