using Medallion.Shell;
using Microsoft.Extensions.Logging;
using Virtualization.Core.Lifecycle;
using Virtualization.Core.Vmm;

namespace Virtualization.Core.Crosvm;

/// <summary>A running <c>crosvm run</c>: up once its control socket exists; stopped with <c>crosvm stop</c>.</summary>
internal sealed class CrosvmProcess : VmmProcess
{
    private readonly string _crosvmPath;
    private readonly string _controlSocket;
    private readonly ILogger _logger;
    private readonly int _cid;

    internal CrosvmProcess(VmmChildProcess child, string crosvmPath, string controlSocket, ILogger logger, int cid)
        : base(child, "crosvm")
    {
        _crosvmPath = crosvmPath;
        _controlSocket = controlSocket;
        _logger = logger;
        _cid = cid;
    }

    /// <inheritdoc/>
    public override async Task RequestStopAsync(CancellationToken cancellationToken)
    {
        // `crosvm stop SOCKET` speaks the control protocol for us and exits 0 on an "Ok" reply.
        Command stop = Command.Run(_crosvmPath, ["stop", _controlSocket], options => options
            .ThrowOnError(false)
            .CancellationToken(cancellationToken));
        CommandResult result = await stop.Task.ConfigureAwait(false);
        if (!result.Success)
        {
            Log.StopRequestFailed(_logger, _cid, result.ExitCode, result.StandardError.Trim());
        }
    }

    /// <inheritdoc/>
    protected override ValueTask<bool> IsUpAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult(File.Exists(_controlSocket));

    /// <inheritdoc/>
    /// <remarks>
    /// With <c>--extended-status</c>, 0 (stop), 32 (reboot), 33 (crash), 34 (guest panic) and 36 (watchdog) are the
    /// states of a run loop that ran; a failed start exits 1, and rejected arguments 35 (crosvm.md §3).
    /// </remarks>
    protected override bool ExitCodeShowsTheVmRan(int exitCode) => exitCode is 0 or 32 or 33 or 34 or 36;

    /// <inheritdoc/>
    protected override ValueTask<DeathReason> ToDeathReasonAsync(int exitCode) =>
        ValueTask.FromResult(CrosvmExitStatus.ToDeathReason(exitCode));
}
