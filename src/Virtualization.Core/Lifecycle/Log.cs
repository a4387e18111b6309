using Microsoft.Extensions.Logging;

namespace Virtualization.Core.Lifecycle;

/// <summary>Every log message of the library, as source-generated <see cref="LoggerMessageAttribute"/> methods.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Created the VM in {TemporaryDirectory}")]
    internal static partial void VmCreated(ILogger logger, string temporaryDirectory);

    [LoggerMessage(2, LogLevel.Information, "Launching VMM: {Executable} {Arguments}")]
    internal static partial void LaunchingVmm(ILogger logger, string executable, string arguments);

    [LoggerMessage(3, LogLevel.Information, "The VM started: VMM process {ProcessId}")]
    internal static partial void VmStarted(ILogger logger, int processId);

    [LoggerMessage(4, LogLevel.Warning, "The VM failed to start")]
    internal static partial void VmStartFailed(ILogger logger, Exception exception);

    [LoggerMessage(5, LogLevel.Information, "The VM died: {Reason} (VMM exit code {ExitCode})")]
    internal static partial void VmDied(ILogger logger, DeathReason reason, int? exitCode);

    [LoggerMessage(6, LogLevel.Debug, "VMM: {Line}")]
    internal static partial void VmmStandardError(ILogger logger, string line);

    [LoggerMessage(7, LogLevel.Warning, "Copying the console failed; the rest of it is lost")]
    internal static partial void ConsoleCopyFailed(ILogger logger, Exception exception);

    [LoggerMessage(8, LogLevel.Error, "A callback of the VM threw from {Callback}; other callbacks still run")]
    internal static partial void CallbackFailed(ILogger logger, string callback, Exception exception);

    [LoggerMessage(9, LogLevel.Warning, "Could not delete the temporary folder {Path}")]
    internal static partial void TemporaryDirectoryNotDeleted(ILogger logger, string path, Exception exception);

    [LoggerMessage(10, LogLevel.Warning, "Graceful stop was refused (exit code {ExitCode}): {Error}")]
    internal static partial void StopRequestFailed(ILogger logger, int exitCode, string error);

    [LoggerMessage(11, LogLevel.Information, "Stopping the VM; killing it if it is still running after {GracePeriod}")]
    internal static partial void Stopping(ILogger logger, TimeSpan gracePeriod);

    [LoggerMessage(13, LogLevel.Warning, "Graceful stop failed")]
    internal static partial void StopRequestError(ILogger logger, Exception exception);

    [LoggerMessage(15, LogLevel.Error, "Watching the VMM failed; the VM is reported dead with DeathReason.Error")]
    internal static partial void MonitorFailed(ILogger logger, Exception exception);

    [LoggerMessage(14, LogLevel.Information, "Killing the VM")]
    internal static partial void Killing(ILogger logger);

    [LoggerMessage(16, LogLevel.Warning, "The VMM exited but its console or stderr was not drained within {DrainTimeout}; the rest is dropped")]
    internal static partial void OutputAbandoned(ILogger logger, TimeSpan drainTimeout);

    [LoggerMessage(17, LogLevel.Error, "The VMM launcher (pid {ProcessId}) did not exit within {Timeout} after its start was abandoned")]
    internal static partial void LauncherDidNotExit(ILogger logger, int processId, TimeSpan timeout);

    [LoggerMessage(40, LogLevel.Warning, "The temporary directory {Path} had mode {Mode}; tightened to 0700 so that no other user can reach the VMs' files")]
    internal static partial void TemporaryDirectoryTightened(ILogger logger, string path, string mode);

    [LoggerMessage(41, LogLevel.Information, "Removed {Path}, left for CID {Cid} by a process that died")]
    internal static partial void LeftoverVmFolderRemoved(ILogger logger, int cid, string path);

    [LoggerMessage(42, LogLevel.Warning, "The CID cursor file {Path} did not hold a counter; it is rewritten, continuing from this service's own position {Position}")]
    internal static partial void CidCursorDamaged(ILogger logger, string path, long position);

    [LoggerMessage(43, LogLevel.Debug, "Could not prepare the process-wide VMM launch state ahead of the first start; the first start will try again")]
    internal static partial void ProcessSetupDeferred(ILogger logger, Exception exception);
}
