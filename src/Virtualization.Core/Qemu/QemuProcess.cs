using Virtualization.Core.Vmm;

namespace Virtualization.Core.Qemu;

/// <summary>
/// A running QEMU: up once its QMP socket answers; the QMP events (SHUTDOWN reason, GUEST_PANICKED) and the exit
/// status say why it died; stopped with <c>system_powerdown</c>, then <c>quit</c>.
/// </summary>
internal sealed class QemuProcess : VmmProcess
{
    private readonly string _qmpSocket;
    private readonly TimeSpan _stopGracePeriod;
    private volatile QmpClient? _qmp;

    internal QemuProcess(VmmChildProcess child, string qmpSocket, TimeSpan stopGracePeriod)
        : base(child, "qemu")
    {
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

        // Ask the guest first; a guest without ACPI power-button handling ignores it, so quit after half the grace.
        await qmp.SendAsync("system_powerdown", cancellationToken).ConfigureAwait(false);
        using var half = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        half.CancelAfter(_stopGracePeriod / 2);
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

        return _qmp is not null;
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
