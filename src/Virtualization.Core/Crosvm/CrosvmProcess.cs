using Medallion.Shell;
using Microsoft.Extensions.Logging;
using Virtualization.Core.Lifecycle;
using Virtualization.Core.Vmm;

namespace Virtualization.Core.Crosvm;

/// <summary>A running <c>crosvm run</c>: up once its control socket exists; stopped with <c>crosvm stop</c>.</summary>
internal sealed class CrosvmProcess : IVmmProcess
{
    private readonly VmmChildProcess _child;
    private readonly string _crosvmPath;
    private readonly string _controlSocket;
    private readonly ILogger _logger;
    private readonly int _cid;

    internal CrosvmProcess(VmmChildProcess child, string crosvmPath, string controlSocket, ILogger logger, int cid)
    {
        _child = child;
        _crosvmPath = crosvmPath;
        _controlSocket = controlSocket;
        _logger = logger;
        _cid = cid;
        Exited = MapExitAsync();
    }

    /// <inheritdoc/>
    public int ProcessId => _child.ProcessId;

    /// <inheritdoc/>
    public Task<VmmExit> Exited { get; }

    /// <inheritdoc/>
    public string StandardErrorTail => _child.StandardErrorTail;

    /// <inheritdoc/>
    public Task WaitUntilReadyAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        ReadinessProbe.WaitAsync(
            "crosvm",
            _ => ValueTask.FromResult(File.Exists(_controlSocket)),
            this,
            timeout,
            Path.GetDirectoryName(_controlSocket)!,
            cancellationToken);

    /// <inheritdoc/>
    public async Task RequestStopAsync(CancellationToken cancellationToken)
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
    public void Kill() => _child.Kill();

    private async Task<VmmExit> MapExitAsync()
    {
        int exitCode = await _child.Exited.ConfigureAwait(false);
        return new VmmExit(exitCode, CrosvmExitStatus.ToDeathReason(exitCode));
    }
}
