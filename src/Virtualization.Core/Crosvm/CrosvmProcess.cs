using System.Net.Sockets;
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
    private readonly long _guestMemoryBytes;

    internal CrosvmProcess(VmmChildProcess child, string crosvmPath, string controlSocket, ILogger logger, int cid, long guestMemoryBytes)
        : base(child, "crosvm")
    {
        _cid = cid;
        _guestMemoryBytes = guestMemoryBytes;
        _crosvmPath = crosvmPath;
        _controlSocket = controlSocket;
        _logger = logger;
    }

    /// <inheritdoc/>
    public override async Task RequestStopAsync(CancellationToken cancellationToken)
    {
        // `crosvm stop SOCKET` speaks the control protocol for us and exits 0 on an "Ok" reply.
        (int exitCode, _, string stderr) = await CrosvmControl.RunBoundedAsync(
            _crosvmPath, ["stop", _controlSocket], "stop", _cid, cancellationToken).ConfigureAwait(false);
        if (exitCode != 0)
        {
            Log.StopRequestFailed(_logger, exitCode, stderr.Trim());
        }
    }

    /// <inheritdoc/>
    /// <remarks><c>crosvm suspend SOCKET</c>: the vCPUs only (not <c>--full</c>, which needs a newer crosvm and also stops devices).</remarks>
    public override Task SuspendAsync(CancellationToken cancellationToken) => ControlAsync("suspend", ["suspend"], cancellationToken);

    /// <inheritdoc/>
    public override Task ResumeAsync(CancellationToken cancellationToken) => ControlAsync("resume", ["resume"], cancellationToken);

    /// <inheritdoc/>
    /// <remarks>Without <c>--wait</c> (2024 and later only): the command returns once crosvm has the new target.</remarks>
    public override Task SetBalloonAsync(long balloonBytes, CancellationToken cancellationToken) =>
        ControlAsync("balloon", CrosvmControl.Balloon(balloonBytes), cancellationToken);

    /// <inheritdoc/>
    public override async Task<MemoryBalloonStats> GetBalloonStatsAsync(CancellationToken cancellationToken)
    {
        string output = await CrosvmControl.RunAsync(_crosvmPath, _controlSocket, "balloon_stats", ["balloon_stats"], _cid, cancellationToken).ConfigureAwait(false);
        return CrosvmControl.ParseStats(output, _guestMemoryBytes);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Up when the control socket (AF_UNIX SOCK_SEQPACKET) accepts a connection, not merely when its file exists: the file
    /// appears at bind, before listen, and a stop request in between would be refused. The probe connection is closed at
    /// once; crosvm drops a control connection that closes without a request.
    /// </remarks>
    protected override async ValueTask<bool> IsUpAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(_controlSocket))
        {
            return false;
        }

        using var probe = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        try
        {
            await probe.ConnectAsync(new UnixDomainSocketEndPoint(_controlSocket), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (SocketException)
        {
            return false; // Not listening yet (ECONNREFUSED), or gone (ENOENT).
        }
    }

    private Task<string> ControlAsync(string operation, string[] arguments, CancellationToken cancellationToken) =>
        CrosvmControl.RunAsync(_crosvmPath, _controlSocket, operation, arguments, _cid, cancellationToken);

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
