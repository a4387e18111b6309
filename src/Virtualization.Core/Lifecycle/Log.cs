using Microsoft.Extensions.Logging;

namespace Virtualization.Core.Lifecycle;

/// <summary>Every log message of the library, as source-generated <see cref="LoggerMessageAttribute"/> methods.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Created VM with CID {Cid} in {TemporaryDirectory}")]
    internal static partial void VmCreated(ILogger logger, int cid, string temporaryDirectory);

    [LoggerMessage(2, LogLevel.Information, "Launching VMM for CID {Cid}: {Executable} {Arguments}")]
    internal static partial void LaunchingVmm(ILogger logger, int cid, string executable, string arguments);

    [LoggerMessage(3, LogLevel.Information, "VM with CID {Cid} started: VMM process {ProcessId}")]
    internal static partial void VmStarted(ILogger logger, int cid, int processId);

    [LoggerMessage(4, LogLevel.Warning, "VM with CID {Cid} failed to start")]
    internal static partial void VmStartFailed(ILogger logger, int cid, Exception exception);

    [LoggerMessage(5, LogLevel.Information, "VM with CID {Cid} died: {Reason} (VMM exit code {ExitCode})")]
    internal static partial void VmDied(ILogger logger, int cid, DeathReason reason, int? exitCode);

    [LoggerMessage(6, LogLevel.Debug, "VMM of CID {Cid}: {Line}")]
    internal static partial void VmmStandardError(ILogger logger, int cid, string line);

    [LoggerMessage(7, LogLevel.Warning, "Copying the console of CID {Cid} failed; the rest of it is lost")]
    internal static partial void ConsoleCopyFailed(ILogger logger, int cid, Exception exception);

    [LoggerMessage(8, LogLevel.Error, "A callback of VM with CID {Cid} threw from {Callback}; other callbacks still run")]
    internal static partial void CallbackFailed(ILogger logger, int cid, string callback, Exception exception);

    [LoggerMessage(9, LogLevel.Warning, "Could not delete the temporary folder {Path} of CID {Cid}")]
    internal static partial void TemporaryDirectoryNotDeleted(ILogger logger, int cid, string path, Exception exception);

    [LoggerMessage(10, LogLevel.Warning, "Graceful stop of CID {Cid} was refused (exit code {ExitCode}): {Error}")]
    internal static partial void StopRequestFailed(ILogger logger, int cid, int exitCode, string error);

    [LoggerMessage(11, LogLevel.Information, "Stopping VM with CID {Cid}; killing it if it is still running after {GracePeriod}")]
    internal static partial void Stopping(ILogger logger, int cid, TimeSpan gracePeriod);

    [LoggerMessage(13, LogLevel.Warning, "Graceful stop of CID {Cid} failed")]
    internal static partial void StopRequestError(ILogger logger, int cid, Exception exception);

    [LoggerMessage(15, LogLevel.Error, "Watching the VMM of CID {Cid} failed; the VM is reported dead with DeathReason.Error")]
    internal static partial void MonitorFailed(ILogger logger, int cid, Exception exception);

    [LoggerMessage(14, LogLevel.Information, "Killing VM with CID {Cid}")]
    internal static partial void Killing(ILogger logger, int cid);

    [LoggerMessage(16, LogLevel.Warning, "The VMM of CID {Cid} exited but its console or stderr was not drained within {DrainTimeout}; the rest is dropped")]
    internal static partial void OutputAbandoned(ILogger logger, int cid, TimeSpan drainTimeout);

    [LoggerMessage(17, LogLevel.Error, "The VMM launcher (pid {ProcessId}) of CID {Cid} did not exit within {Timeout} after its start was abandoned")]
    internal static partial void LauncherDidNotExit(ILogger logger, int cid, int processId, TimeSpan timeout);

    [LoggerMessage(40, LogLevel.Warning, "The temporary directory {Path} had mode {Mode}; tightened to 0700 so that no other user can reach the VMs' files")]
    internal static partial void TemporaryDirectoryTightened(ILogger logger, string path, string mode);

    [LoggerMessage(41, LogLevel.Information, "Removed {Path}, left for CID {Cid} by a process that died")]
    internal static partial void LeftoverVmFolderRemoved(ILogger logger, int cid, string path);

    [LoggerMessage(42, LogLevel.Warning, "The CID cursor file {Path} did not hold a counter; it is rewritten, continuing from this service's own position {Position}")]
    internal static partial void CidCursorDamaged(ILogger logger, string path, long position);
}
