using System.Globalization;
using System.Text.Json;
using Virtualization.Core.Vmm;

namespace Virtualization.Core.Qemu;

/// <summary>
/// A running QEMU: up once its QMP socket answers; the QMP events (SHUTDOWN reason, GUEST_PANICKED) and the exit
/// status say why it died; stopped with <c>system_powerdown</c>, then <c>quit</c>. Suspend and resume are QMP
/// <c>stop</c> and <c>cont</c>; the balloon is the <c>virtio-balloon-device</c> (QMP <c>balloon</c>, <c>query-balloon</c>
/// and its QOM <c>guest-stats</c>, polled by QEMU every <see cref="StatsPollingSeconds"/> s).
/// </summary>
internal sealed class QemuProcess : VmmProcess
{
    private readonly string _qmpSocket;
    /// <summary>How often QEMU asks the guest's balloon driver for its statistics.</summary>
    internal const int StatsPollingSeconds = 1;

    /// <summary>How long a QMP control command may take.</summary>
    internal static readonly TimeSpan ControlTimeout = TimeSpan.FromSeconds(30);

    private static readonly string BalloonPath = "/machine/peripheral/" + QemuCommandLine.BalloonId;

    private readonly TimeSpan _stopGracePeriod;
    private readonly long _guestMemoryBytes;
    private readonly TimeProvider _time;
    private volatile QmpClient? _qmp;
    private volatile bool _paused;

    /// <summary>
    /// Switching the balloon's statistics polling on, sent once QMP is up and not waited for; it never faults (a refusal
    /// or a QEMU that exits only leaves the statistics unreported).
    /// </summary>
    internal Task StatsSwitch { get; private set; } = Task.CompletedTask;

    /// <summary>Wraps <paramref name="child"/>, a QEMU whose QMP socket is <paramref name="qmpSocket"/>.</summary>
    /// <param name="child">The QEMU process.</param>
    /// <param name="qmpSocket">Path of its QMP socket.</param>
    /// <param name="stopGracePeriod">The stop's grace: <c>quit</c> is sent when half of it is over.</param>
    /// <param name="guestMemoryBytes">The guest's memory, for the balloon.</param>
    /// <param name="time">Times the half-grace <c>quit</c> and the control timeout (a fake one in tests).</param>
    internal QemuProcess(VmmChildProcess child, string qmpSocket, TimeSpan stopGracePeriod, long guestMemoryBytes, TimeProvider? time = null)
        : base(child, "qemu")
    {
        _time = time ?? TimeProvider.System;
        _guestMemoryBytes = guestMemoryBytes;
        _qmpSocket = qmpSocket;
        _stopGracePeriod = stopGracePeriod;
    }

    /// <summary>Maps QEMU's last word to a death reason.</summary>
    internal static DeathReason ToDeathReason(int exitCode, string? shutdownReason, bool panicked)
    {
        if (panicked || shutdownReason == "guest-panic")
        {
            return DeathReason.GuestPanic;
        }

        return shutdownReason switch
        {
            "guest-shutdown" or "host-qmp-quit" or "host-signal" or "host-ui" => DeathReason.Shutdown,
            "guest-reset" or "host-qmp-system-reset" => DeathReason.Reboot,
            _ => exitCode == 0 ? DeathReason.Shutdown : DeathReason.Error,
        };
    }

    /// <inheritdoc/>
    public override async Task RequestStopAsync(CancellationToken cancellationToken)
    {
        if (_qmp is not { } qmp)
        {
            return;
        }

        if (_paused)
        {
            // A paused guest cannot hear the power button: let it run again first.
            try
            {
                await qmp.ExecuteAsync("cont", null, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException)
            {
                // QEMU is exiting or refused: the quit below (or the kill) still ends it.
            }
        }

        // Ask the guest first; a guest without ACPI power-button handling ignores it, so quit after half the grace.
        using var halfGrace = new CancellationTokenSource(_stopGracePeriod / 2, _time);
        using var half = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, halfGrace.Token);
        await qmp.SendAsync("system_powerdown", cancellationToken).ConfigureAwait(false);
        await Task.WhenAny(Child.ProcessExited, Task.Delay(Timeout.Infinite, half.Token)).ConfigureAwait(false);
        if (!Child.ProcessExited.IsCompleted)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await qmp.SendAsync("quit", cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    /// <remarks>The whole handshake (greeting included) runs under the start deadline carried by the token.</remarks>
    protected override async ValueTask<bool> IsUpAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(_qmpSocket))
        {
            return false;
        }

        try
        {
            _qmp = await QmpClient.TryConnectAsync(_qmpSocket, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // QEMU closed the socket mid-handshake (it is exiting): the probe reports its exit next round.
            return false;
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }

        if (_qmp is { } qmp)
        {
            // Best effort: without it the guest statistics stay unreported (null), nothing else changes.
            StatsSwitch = EnableBalloonStatsAsync(qmp);
        }

        return _qmp is not null;
    }

    /// <inheritdoc/>
    public override async Task SuspendAsync(CancellationToken cancellationToken)
    {
        await ExecuteAsync("suspend", "stop", null, cancellationToken).ConfigureAwait(false);
        _paused = true;
    }

    /// <inheritdoc/>
    public override async Task ResumeAsync(CancellationToken cancellationToken)
    {
        await ExecuteAsync("resume", "cont", null, cancellationToken).ConfigureAwait(false);
        _paused = false;
    }

    /// <inheritdoc/>
    /// <remarks>QMP <c>balloon</c> takes the memory the guest keeps, so the value is the guest memory minus the balloon.</remarks>
    public override Task SetBalloonAsync(long balloonBytes, CancellationToken cancellationToken) =>
        ExecuteAsync("balloon", "balloon", string.Create(CultureInfo.InvariantCulture, $"{{\"value\":{_guestMemoryBytes - balloonBytes}}}"), cancellationToken);

    /// <inheritdoc/>
    public override async Task<MemoryBalloonStats> GetBalloonStatsAsync(CancellationToken cancellationToken)
    {
        JsonElement balloon = await ExecuteAsync("balloon_stats", "query-balloon", null, cancellationToken).ConfigureAwait(false);
        JsonElement stats = await ExecuteAsync(
            "balloon_stats", "qom-get", $"{{\"path\":\"{BalloonPath}\",\"property\":\"guest-stats\"}}", cancellationToken).ConfigureAwait(false);
        return ParseStats(balloon, stats, _guestMemoryBytes);
    }

    /// <summary>Maps <c>query-balloon</c> (memory the guest keeps) and <c>guest-stats</c> (unreported values are 2^64-1) to the public meaning.</summary>
    internal static MemoryBalloonStats ParseStats(JsonElement balloon, JsonElement guestStats, long guestMemoryBytes)
    {
        JsonElement values = guestStats.TryGetProperty("stats", out JsonElement s) ? s : default;
        return new MemoryBalloonStats(
            guestMemoryBytes - balloon.GetProperty("actual").GetInt64(),
            guestMemoryBytes,
            Stat(values, "stat-total-memory"),
            Stat(values, "stat-free-memory"),
            Stat(values, "stat-available-memory"),
            Stat(values, "stat-disk-caches"),
            Stat(values, "stat-major-faults"),
            Stat(values, "stat-minor-faults"));
    }

    private static long? Stat(JsonElement values, string name) =>
        values.ValueKind == JsonValueKind.Object && values.TryGetProperty(name, out JsonElement value)
            && value.TryGetUInt64(out ulong number) && number <= long.MaxValue
            ? (long)number
            : null;

    private static async Task EnableBalloonStatsAsync(QmpClient qmp)
    {
        try
        {
            await qmp.ExecuteAsync(
                "qom-set",
                string.Create(CultureInfo.InvariantCulture, $"{{\"path\":\"{BalloonPath}\",\"property\":\"guest-stats-polling-interval\",\"value\":{StatsPollingSeconds}}}"),
                CancellationToken.None).WaitAsync(ControlTimeout).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or TimeoutException or ObjectDisposedException)
        {
            // No balloon (or QEMU is exiting): statistics stay null.
        }
    }

    private async Task<JsonElement> ExecuteAsync(string operation, string command, string? argumentsJson, CancellationToken cancellationToken)
    {
        QmpClient qmp = _qmp ?? throw new VirtualMachineControlException(
            $"QEMU's QMP connection is not open, so {operation} cannot be sent.", operation, string.Empty);
        using var timeout = new CancellationTokenSource(ControlTimeout, _time);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            return await qmp.ExecuteAsync(command, argumentsJson, limit.Token).ConfigureAwait(false);
        }
        catch (QmpErrorException e)
        {
            throw new VirtualMachineControlException($"QEMU refused {operation} (QMP {command}): {e.Message}", operation, e.Message, e);
        }
        catch (IOException e)
        {
            throw new VirtualMachineControlException($"QEMU did not answer {operation} (QMP {command}): {e.Message}", operation, string.Empty, e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new VirtualMachineControlException(
                $"QEMU did not answer {operation} (QMP {command}) within {ControlTimeout.TotalSeconds:0} s; the VM may be stuck.", operation, string.Empty, e);
        }
    }

    /// <inheritdoc/>
    /// <remarks>QEMU exits 0 only after its guest ran and shut down (or QMP <c>quit</c>); every start failure is 1.</remarks>
    protected override bool ExitCodeShowsTheVmRan(int exitCode) => exitCode == 0;

    /// <inheritdoc/>
    protected override async ValueTask<DeathReason> ToDeathReasonAsync(int exitCode)
    {
        string? reason = null;
        bool panicked = false;
        if (_qmp is { } qmp)
        {
            // The socket closes when QEMU exits: by then every event it sent has been read.
            await qmp.Completion.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            reason = qmp.ShutdownReason;
            panicked = qmp.Panicked;
            await qmp.DisposeAsync().ConfigureAwait(false);
        }

        return ToDeathReason(exitCode, reason, panicked);
    }
}
