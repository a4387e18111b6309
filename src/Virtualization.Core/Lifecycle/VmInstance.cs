using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Virtualization.Core.Payload;
using Virtualization.Core.Vmm;
using Virtualization.Core.Vsock;

namespace Virtualization.Core.Lifecycle;

/// <summary>
/// One VM's state machine: NotStarted{config} → Launching → Running{process} → Dead (a failed start is Dead with
/// <see cref="DeathReason.StartFailed"/>). Every transition happens under <see cref="_gate"/>, in short sections that
/// never do I/O or call user code; callbacks go through the <see cref="CallbackDispatcher"/>.
/// With a payload channel, the guest's reports move the state Starting → Started → Ready → Finished (forward only, under
/// the same lock), and a watchdog kills a VM whose payload does not start in time (<see cref="DeathReason.Hangup"/>).
/// </summary>
[DebuggerDisplay("CID {Cid}, {_phase}")]
internal sealed class VmInstance : IVirtualMachine
{
    private readonly Lock _gate = new();
    private readonly VirtualizationService _service;
    private readonly IVmmRunner _runner;
    private readonly VmmLaunchRequest _launch;
    private readonly CidLease _cidLease;
    private readonly ILogger _logger;
    private readonly CallbackDispatcher _dispatcher;
    private readonly List<CallbackRegistration> _callbacks = [];
    private readonly TaskCompletionSource<DeathReason> _death = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<bool> _startOutcome = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TimeSpan _stopGracePeriod;
    private readonly TimeSpan _startTimeout;
    private readonly TimeSpan _vsockConnectTimeout;
    private readonly IVsockConnector _vsock;

    /// <summary>How long the payload channel may keep reading after the VMM exited (what the guest sent last).</summary>
    private static readonly TimeSpan PayloadDrainTimeout = TimeSpan.FromSeconds(1);

    private readonly PayloadHost? _payload;
    private readonly TimeSpan _payloadStartTimeout;
    private readonly List<StateWaiter> _waiters = [];

    // Serializes suspend, resume and balloon requests (I/O, never under the lock).
    private readonly SemaphoreSlim _control = new(1, 1);

    private readonly TagList _tags;
    private readonly string _cidNamespace;
    private Phase _phase = Phase.NotStarted;
    private bool _countedRunning;
    private IVmmProcess? _process;
    private bool _killRequested;
    private DeathReason _killReason = Core.DeathReason.Killed;
    private bool _hungUp;
    private bool _disposed;

    // The furthest state reached before death (payload states only move forward); read and written under the lock.
    private VirtualMachineState _reached = VirtualMachineState.NotStarted;
    private Timer? _watchdog;
    private long _startTimestamp;
    private TimeSpan? _payloadStartedAfter;
    private TimeSpan? _payloadReadyAfter;

    // Read without the lock (State never blocks); written only under it.
    private volatile StateBox _state = StateBox.NotStarted;

    internal VmInstance(
        VirtualizationService service,
        IVmmRunner runner,
        VmmLaunchRequest launch,
        CidLease cidLease,
        VirtualizationServiceOptions options,
        IVsockConnector vsock,
        ILogger logger)
    {
        _vsock = vsock;
        _vsockConnectTimeout = options.VsockConnectTimeout;
        _service = service;
        _runner = runner;
        _launch = launch;
        _cidLease = cidLease;
        _logger = logger;
        _stopGracePeriod = options.StopGracePeriod;
        _startTimeout = options.StartTimeout;
        _dispatcher = new CallbackDispatcher(logger);
        _tags = service.Tags;
        _cidNamespace = options.CidNamespace;
        CreatedAt = DateTimeOffset.UtcNow;
        if (launch.Config.PayloadChannel is { } payload)
        {
            _payloadStartTimeout = payload.StartTimeout ?? options.PayloadStartTimeout;
            _payload = new PayloadHost(launch.Cid, payload, launch.TemporaryDirectory, logger, ApplyPayloadReport);
        }
    }

    private enum Phase
    {
        NotStarted,
        Launching,
        Running,
        Dead,
    }

    /// <inheritdoc/>
    public int Cid => _launch.Cid;

    /// <inheritdoc/>
    public VirtualMachineState State => _state.State;

    /// <inheritdoc/>
    public DeathReason? DeathReason => _state.Reason;

    /// <inheritdoc/>
    public bool IsSuspended => _state.Suspended;

    /// <summary>This VM's logger.</summary>
    internal ILogger Logger => _logger;

    /// <summary>The VM's private folder.</summary>
    internal string TemporaryDirectory => _launch.TemporaryDirectory;

    /// <summary>When the VM was created.</summary>
    internal DateTimeOffset CreatedAt { get; }

    /// <summary>Time from the start of <see cref="StartAsync"/> to the payload's <c>started</c> report, if it came (metrics hook).</summary>
    internal TimeSpan? PayloadStartedAfter
    {
        get
        {
            lock (_gate)
            {
                return _payloadStartedAfter;
            }
        }
    }

    /// <summary>Time from the start of <see cref="StartAsync"/> to the payload's <c>ready</c> report, if it came (metrics hook).</summary>
    internal TimeSpan? PayloadReadyAfter
    {
        get
        {
            lock (_gate)
            {
                return _payloadReadyAfter;
            }
        }
    }

    /// <summary>How many <see cref="WaitForStateAsync"/> calls are still registered (tests: satisfied and cancelled waits leave none behind).</summary>
    internal int PendingStateWaiters
    {
        get
        {
            lock (_gate)
            {
                return _waiters.Count;
            }
        }
    }

    /// <summary>Whether a callback took the payload's stdio stream (tests; null without a payload channel).</summary>
    internal bool? PayloadStdioDelivered => _payload?.StdioDelivered;

    /// <summary>The lock every transition takes (for tests that prove callbacks and I/O never run under it).</summary>
    internal Lock Gate => _gate;

    /// <summary>A snapshot for <see cref="IVirtualizationService.DebugListVms"/>.</summary>
    internal VirtualMachineDebugInfo DebugInfo
    {
        get
        {
            lock (_gate)
            {
                int? pid = _phase is Phase.Launching or Phase.Running ? _process?.ProcessId : null;
                return new VirtualMachineDebugInfo(Cid, _state.State, TemporaryDirectory, pid, CreatedAt);
            }
        }
    }

    /// <inheritdoc/>
    public IDisposable RegisterCallback(IVirtualMachineCallback callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var registration = new CallbackRegistration(this, callback);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _callbacks.Add(registration);
            if (_state.Reason is { } reason)
            {
                // Already dead: this registration gets its OnDied now (others got theirs at death).
                EnqueueLocked(registration, nameof(IVirtualMachineCallback.OnDied), cb => cb.OnDied(Cid, reason));
            }
        }

        return registration;
    }

    /// <inheritdoc/>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            switch (_phase)
            {
                case Phase.NotStarted:
                    _phase = Phase.Launching;
                    _startTimestamp = Stopwatch.GetTimestamp();
                    SetStateLocked(StateBox.Starting);
                    break;
                case Phase.Launching:
                    throw new InvalidOperationException($"VM with CID {Cid} is already being started by another call.");
                case Phase.Running:
                    throw new InvalidOperationException($"VM with CID {Cid} was already started; a VM starts only once.");
                default:
                    throw new InvalidOperationException(
                        $"VM with CID {Cid} is dead ({_state.Reason}) and cannot be started; create a new VM.");
            }
        }

        using Activity? activity = VirtualizationTelemetry.StartActivity("virtualization.vm.start", Cid, _runner.Name);
        try
        {
            await StartCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            VirtualizationTelemetry.Fail(activity, e);
            TagList tags = _tags;
            tags.Add(VirtualizationTelemetry.ErrorTypeTag, e.GetType().FullName);
            VirtualizationTelemetry.StartDuration.Record(Stopwatch.GetElapsedTime(_startTimestamp).TotalSeconds, tags);
            throw;
        }

        VirtualizationTelemetry.StartDuration.Record(Stopwatch.GetElapsedTime(_startTimestamp).TotalSeconds, _tags);
        VirtualizationTelemetry.Started.Add(1, _tags);
    }

    private async Task StartCoreAsync(CancellationToken cancellationToken)
    {
        // One deadline for everything up to "ready": launch, helper handshake, control socket, QMP greeting.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_startTimeout);
        IVmmProcess process;
        try
        {
            // The VMM connects to the payload sockets at startup: listen first.
            _payload?.Listen();
            process = await _runner.LaunchAsync(_launch, deadline.Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Log.VmStartFailed(_logger, e);
            bool cancelled = e is OperationCanceledException && cancellationToken.IsCancellationRequested;
            bool killed = KilledByRequest();
            // Stryker disable once Statement,Boolean : with no process there is no monitor, the only reader of _startOutcome; set for symmetry.
            _startOutcome.TrySetResult(false);
            await DieAsync(cancelled || killed ? Core.DeathReason.Killed : Core.DeathReason.StartFailed, exitCode: null).ConfigureAwait(false);
            throw StartFailure(e, cancelled, killed, cancellationToken);
        }

        bool killNow;
        lock (_gate)
        {
            _process = process;
            killNow = _killRequested;
        }

        // From here on the monitor owns the VM's death: every exit path ends in it.
        _ = MonitorAsync(process);
        if (killNow)
        {
            process.Kill();
        }

        try
        {
            await process.WaitUntilReadyAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Log.VmStartFailed(_logger, e);
            bool cancelled = e is OperationCanceledException && cancellationToken.IsCancellationRequested;
            if (cancelled)
            {
                Kill(); // The caller gave up: the VM dies as Killed.
            }
            else
            {
                process.Kill(); // Timeout or early exit: the monitor reports StartFailed.
            }

            _startOutcome.TrySetResult(false);
            await _death.Task.ConfigureAwait(false);
            throw StartFailure(e, cancelled, !cancelled && KilledByRequest(), cancellationToken);
        }

        bool killedMeanwhile;
        lock (_gate)
        {
            killedMeanwhile = _killRequested || _phase != Phase.Launching;
            if (!killedMeanwhile)
            {
                _phase = Phase.Running;
                _countedRunning = true;
                StartWatchdogLocked();
            }
        }

        if (!killedMeanwhile)
        {
            // Counted down at death (FinishDeathAsync), which cannot come before _startOutcome is set below.
            VirtualizationTelemetry.AddRunning(_runner.Name, _cidNamespace, 1);
        }

        // The VMM was up: from now on its death carries its own reason, however soon it comes.
        _startOutcome.TrySetResult(!killedMeanwhile);
        if (killedMeanwhile)
        {
            await _death.Task.ConfigureAwait(false);
            throw KilledWhileStarting(null);
        }

        Log.VmStarted(_logger, process.ProcessId);
    }

    /// <inheritdoc/>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        using Activity? activity = VirtualizationTelemetry.StartActivity("virtualization.vm.stop", Cid, _runner.Name);
        await StopCoreAsync(cancellationToken).ConfigureAwait(false);
        activity?.SetTag(VirtualizationTelemetry.DeathReasonTag, _state.Reason?.ToString());
    }

    private async Task StopCoreAsync(CancellationToken cancellationToken)
    {
        IVmmProcess? process;
        lock (_gate)
        {
            process = _phase == Phase.Running ? _process : null;
        }

        if (process is null)
        {
            // Not running: a VM that never started (or is still launching) is killed; a dead one stays dead.
            Kill();
            await WaitForDeathAsync(CancellationToken.None).ConfigureAwait(false);
            return;
        }

        Log.Stopping(_logger, _stopGracePeriod);
        using var grace = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        grace.CancelAfter(_stopGracePeriod);
        try
        {
            await process.RequestStopAsync(grace.Token).ConfigureAwait(false);
            await WaitForDeathAsync(grace.Token).ConfigureAwait(false);
            // Stryker disable once Statement : without it, Kill() of the dead VM returns at once and the death is already complete.
            return;
        }
        catch (OperationCanceledException)
        {
            // Grace period over, or the caller gave up waiting: kill below.
        }
#pragma warning disable CA1031 // A failed graceful request only means we kill sooner; it is logged.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Log.StopRequestError(_logger, e);
        }

        Kill();
        await WaitForDeathAsync(CancellationToken.None).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public void Kill() => Kill(Core.DeathReason.Killed);

    /// <summary>Kills the VM; its death is reported with <paramref name="reason"/> unless a kill was already requested.</summary>
    internal void Kill(DeathReason reason)
    {
        IVmmProcess? process = null;
        bool dieWithoutProcess = false;
        Task? delivered = null;
        lock (_gate)
        {
            switch (_phase)
            {
                case Phase.NotStarted:
                    // Stryker disable once Boolean : the VM is Dead below; every reader of _killRequested checks the phase first.
                    _killRequested = true;
                    _killReason = reason;
                    dieWithoutProcess = true;
                    delivered = MarkDeadLocked(reason);
                    break;
                case Phase.Launching:
                case Phase.Running:
                    if (_killRequested)
                    {
                        return;
                    }

                    _killRequested = true;
                    _killReason = reason;
                    process = _process; // Null while launching: StartAsync kills it once it exists.
                    break;
                default:
                    return;
            }
        }

        Log.Killing(_logger);
        if (dieWithoutProcess)
        {
            Log.VmDied(_logger, reason, null);
            _ = FinishDeathAsync(delivered!);
        }

        process?.Kill();
    }

    /// <inheritdoc/>
    public Task<DeathReason> WaitForDeathAsync(CancellationToken cancellationToken = default) =>
        _death.Task.WaitAsync(cancellationToken);

    /// <inheritdoc/>
    public Task<VirtualMachineState> WaitForStateAsync(VirtualMachineState state, CancellationToken cancellationToken = default)
    {
        if (!Enum.IsDefined(state))
        {
            throw new ArgumentOutOfRangeException(nameof(state), state, "Not a VirtualMachineState.");
        }

        StateWaiter waiter;
        lock (_gate)
        {
            if (IsReachedLocked(state))
            {
                return Task.FromResult(_state.State);
            }

            if (_phase == Phase.Dead)
            {
                return Task.FromException<VirtualMachineState>(DiedBefore(state));
            }

            // Stryker disable once Block : without it, registering on the cancelled token below cancels the waiter at once, with the same result.
            if (cancellationToken.IsCancellationRequested)
            {
                return Task.FromCanceled<VirtualMachineState>(cancellationToken);
            }

            waiter = new StateWaiter(state);
            _waiters.Add(waiter);
        }

        if (cancellationToken.CanBeCanceled)
        {
            CancellationTokenRegistration registration = cancellationToken.Register(() => CancelWaiter(waiter, cancellationToken));
            _ = waiter.Completion.Task.ContinueWith(
                static (_, state) => ((CancellationTokenRegistration)state!).Dispose(),
                registration,
                CancellationToken.None,
                TaskContinuationOptions.None,
                TaskScheduler.Default);
        }

        return waiter.Completion.Task;
    }

    /// <inheritdoc/>
    public Task<VsockConnection> ConnectVsockAsync(int port, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(port);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_phase is not (Phase.Launching or Phase.Running))
            {
                throw new InvalidOperationException(
                    $"VM is not running (CID {Cid} is {_state.State}); vsock connections need a started VM.");
            }
        }

        // The connection is opened without the lock; if the VM dies meanwhile, the guest end resets it.
        return _vsock.ConnectAsync(Cid, port, _vsockConnectTimeout, cancellationToken);
    }

    /// <inheritdoc/>
    public Task SuspendAsync(CancellationToken cancellationToken = default) => SetSuspendedAsync(true, cancellationToken);

    /// <inheritdoc/>
    public Task ResumeAsync(CancellationToken cancellationToken = default) => SetSuspendedAsync(false, cancellationToken);

    /// <inheritdoc/>
    public async Task SetMemoryBalloonAsync(long balloonBytes, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(balloonBytes);
        if (balloonBytes >= _launch.GuestMemoryBytes)
        {
            throw new ArgumentOutOfRangeException(
                nameof(balloonBytes),
                balloonBytes,
                $"The balloon takes memory from the guest, so it must be smaller than the guest's {_launch.GuestMemoryBytes} bytes. Pass the bytes to take away (0 gives everything back).");
        }

        IVmmProcess process = await AcquireControlAsync("set the memory balloon of", cancellationToken).ConfigureAwait(false);
        try
        {
            await SendControlAsync("balloon", process, p => p.SetBalloonAsync(balloonBytes, CancellationToken.None)).ConfigureAwait(false);
        }
        finally
        {
            _control.Release();
        }
    }

    /// <inheritdoc/>
    public async Task<MemoryBalloonStats> GetMemoryBalloonStatsAsync(CancellationToken cancellationToken = default)
    {
        IVmmProcess process = await AcquireControlAsync("read the memory balloon of", cancellationToken).ConfigureAwait(false);
        try
        {
            MemoryBalloonStats? stats = null;
            await SendControlAsync("balloon_stats", process, async p => stats = await p.GetBalloonStatsAsync(CancellationToken.None).ConfigureAwait(false)).ConfigureAwait(false);
            return stats!;
        }
        finally
        {
            _control.Release();
        }
    }

    /// <inheritdoc/>
    public Stream OpenConsoleInput()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_phase != Phase.Running)
            {
                throw NotRunningLocked("open the console input of", null);
            }
        }

        return _launch.Console.TakeInput() ?? throw new InvalidOperationException(
            $"The console input of VM with CID {Cid} was already taken (by OpenConsoleInput or CopyToConsoleInputAsync); it can be taken "
            + "once per VM, because ending it ends the VMM's console input for good. Keep the first stream and write to it.");
    }

    /// <inheritdoc/>
    public Task CopyToConsoleInputAsync(Stream source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (!source.CanRead)
        {
            throw new ArgumentException("The console input source must be readable.", nameof(source));
        }

        Stream input = OpenConsoleInput();
        return _launch.Console.CopyFromAsync(source, input, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<string> WaitForConsoleLineAsync(string text, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(text);
        CheckTimeout(timeout);
        return _launch.Console.Lines.WaitAsync(line => line.Contains(text, StringComparison.Ordinal), $"a console line containing \"{text}\"", timeout, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<string> WaitForConsoleLineAsync(Regex pattern, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        CheckTimeout(timeout);
        return _launch.Console.Lines.WaitAsync(pattern.IsMatch, $"a console line matching /{pattern}/", timeout, cancellationToken);
    }

    /// <summary>Kills the VM if it runs, waits for its death and cleanup, and removes it from the service.</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _disposed = true;
        }

        Kill();
        await _death.Task.ConfigureAwait(false);
        _service.Forget(this);
    }

    /// <summary>
    /// The synchronous part of <see cref="DisposeAsync"/> (for <see cref="VirtualizationService.Dispose"/>): marks the VM
    /// disposed, kills it and removes it from the service, without waiting; the monitor finishes the death.
    /// </summary>
    internal void MarkDisposedAndKill()
    {
        lock (_gate)
        {
            _disposed = true;
        }

        Kill();
        _service.Forget(this);
    }

    /// <summary>Moves the payload state forward (Starting → Started → Ready → Finished) as a report would; backward moves are refused.</summary>
    /// <returns>False when the VM is not running or the move is not forward.</returns>
    internal bool TryAdvancePayloadState(VirtualMachineState next) => next switch
    {
        VirtualMachineState.Started => ApplyPayloadReport(new PayloadReport(PayloadReportKind.Started), null) is null,
        VirtualMachineState.Ready => ApplyPayloadReport(new PayloadReport(PayloadReportKind.Ready), null) is null,
        VirtualMachineState.Finished => ApplyPayloadReport(new PayloadReport(PayloadReportKind.Finished), null) is null,
        _ => false,
    };

    /// <summary>
    /// Applies one report of this VM's payload channel: a strictly forward move of the payload state under the lock, then
    /// the matching callback (queued, delivered outside the lock, before <c>OnDied</c>). Skipped states get no callback.
    /// </summary>
    /// <param name="report">The report.</param>
    /// <param name="stdio">For <c>started</c>: the payload's stdio stream, given to the first callback that is still
    /// registered when the event is delivered (it then owns the stream); the others get null.</param>
    /// <returns>Null when applied; otherwise why it was ignored.</returns>
    internal string? ApplyPayloadReport(PayloadReport report, Stream? stdio)
    {
        VirtualMachineState next = report.Target;
        TimeSpan elapsed;
        lock (_gate)
        {
            if (_phase is not (Phase.Launching or Phase.Running))
            {
                return _phase == Phase.Dead ? "the VM is dead" : "the VM has not been started";
            }

            if (_hungUp)
            {
                return "the VM is being killed because its payload did not start in time (Hangup)";
            }

            if (PayloadProgress.Refusal(_reached, report) is { } refusal)
            {
                return refusal;
            }

            // Stryker disable once Equality : the watchdog re-checks _reached under the lock; disposing it early only frees the timer sooner.
            bool startedNow = _reached < VirtualMachineState.Started;
            SetStateLocked(new StateBox(next, null, _state.Suspended));
            elapsed = Stopwatch.GetElapsedTime(_startTimestamp);
            // Stryker disable once Boolean,Block : the watchdog re-checks _reached under the lock; disposing it early or late only frees the timer sooner or later.
            if (startedNow)
            {
                // Stryker disable once Statement : the watchdog re-checks _reached under the lock; disposing it only frees the timer sooner.
                _watchdog?.Dispose();
                _watchdog = null;
            }

            switch (report.Kind)
            {
                case PayloadReportKind.Started:
                    _payloadStartedAfter = elapsed;
                    var handoff = new StdioHandoff(stdio, _payload);
                    foreach (CallbackRegistration registration in _callbacks)
                    {
                        EnqueueLocked(registration, nameof(IVirtualMachineCallback.OnPayloadStarted), cb => cb.OnPayloadStarted(Cid, handoff.Take()));
                    }

                    break;
                case PayloadReportKind.Ready:
                    _payloadReadyAfter = elapsed;
                    EnqueueForAllLocked(nameof(IVirtualMachineCallback.OnPayloadReady), cb => cb.OnPayloadReady(Cid));
                    break;
                case PayloadReportKind.Finished:
                    EnqueueForAllLocked(nameof(IVirtualMachineCallback.OnPayloadFinished), cb => cb.OnPayloadFinished(Cid, report.Code));
                    break;
                default:
                    string message = report.Message ?? string.Empty;
                    EnqueueForAllLocked(nameof(IVirtualMachineCallback.OnError), cb => cb.OnError(Cid, report.Code, message));
                    break;
            }
        }

        if (report.Kind == PayloadReportKind.Ready)
        {
            VirtualizationTelemetry.PayloadReadyDuration.Record(elapsed.TotalSeconds, _tags);
        }

        PayloadLog.PayloadStateChanged(_logger, report.ToString(), next, elapsed);
        if (report.Kind == PayloadReportKind.Error)
        {
            PayloadLog.PayloadError(_logger, report.Code, report.Message ?? string.Empty);
        }

        return null;
    }

    /// <summary>Removes a registration (called by its Dispose).</summary>
    internal void Unregister(CallbackRegistration registration)
    {
        lock (_gate)
        {
            _callbacks.Remove(registration);
        }
    }

    private async Task MonitorAsync(IVmmProcess process)
    {
        VmmExit exit;
        try
        {
            exit = await process.Exited.ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Nothing may stop the VM from reaching Dead: an unexpected failure is an Error death.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Log.MonitorFailed(_logger, e);
            exit = new VmmExit(-1, Core.DeathReason.Error);
        }

        // An exit during the start is only a start failure if the VMM never came up: StartAsync decides, and it does so
        // promptly (its readiness wait ends when the process exits).
        bool cameUp = await _startOutcome.Task.ConfigureAwait(false);

        // What the guest reported just before it went away (finished, then power-off) is still in the channel: read it
        // first, so its callbacks come before OnDied.
        if (_payload is not null)
        {
            await _payload.DrainAsync(PayloadDrainTimeout).ConfigureAwait(false);
        }

        DeathReason reason;
        lock (_gate)
        {
            reason = _killRequested ? _killReason
                : !cameUp ? Core.DeathReason.StartFailed
                : exit.Reason;
        }

        await DieAsync(reason, exit.ExitCode).ConfigureAwait(false);
    }

    /// <summary>
    /// What <see cref="StartAsync"/> throws for a failure: only the documented types (cancellation, "killed while
    /// starting", or a <see cref="VirtualMachineStartException"/> wrapping anything unexpected).
    /// </summary>
    private Exception StartFailure(Exception e, bool cancelled, bool killed, CancellationToken cancellationToken)
    {
        if (cancelled)
        {
            return e as OperationCanceledException ?? new OperationCanceledException(cancellationToken);
        }

        if (killed)
        {
            return KilledWhileStarting(e);
        }

        if (e is VirtualMachineStartException start)
        {
            return start;
        }

        if (e is OperationCanceledException)
        {
            return new VirtualMachineStartException(
                $"{_runner.Name} did not come up within {_startTimeout.TotalSeconds:0.###} s (StartTimeout); it was killed. "
                + "Raise StartTimeout if the host is slow, or check the VMM's stderr in the log.",
                null,
                (_process?.StandardErrorTail) ?? string.Empty,
                e);
        }

        return new VirtualMachineStartException(
            $"Could not start {_runner.Name} for VM with CID {Cid}: {e.Message}", null, (_process?.StandardErrorTail) ?? string.Empty, e);
    }

    /// <summary>
    /// The one way to die: state Dead under the lock, then OnDied to every callback (no lock held), then the folder is
    /// deleted and the CID released, then <see cref="WaitForDeathAsync"/> completes. Never throws.
    /// </summary>
    private async Task DieAsync(DeathReason reason, int? exitCode)
    {
        Task? delivered;
        lock (_gate)
        {
            delivered = MarkDeadLocked(reason);
        }

        if (delivered is not null)
        {
            Log.VmDied(_logger, reason, exitCode);
            await FinishDeathAsync(delivered).ConfigureAwait(false);
        }
    }

    /// <summary>The transition to Dead; queues OnDied for every callback.</summary>
    /// <returns>Completes when OnDied was delivered; null if the VM was already dead.</returns>
    private Task? MarkDeadLocked(DeathReason reason)
    {
        if (_phase == Phase.Dead)
        {
            return null;
        }

        _phase = Phase.Dead;
        _state = new StateBox(VirtualMachineState.Dead, reason);
        // Stryker disable once Statement : a watchdog that fires after the death finds the phase Dead and does nothing; this frees the timer sooner.
        _watchdog?.Dispose();
        _watchdog = null;
        foreach (StateWaiter waiter in _waiters)
        {
            if (IsReachedLocked(waiter.Target))
            {
                waiter.Completion.TrySetResult(VirtualMachineState.Dead);
            }
            else
            {
                waiter.Completion.TrySetException(DiedBefore(waiter.Target));
            }
        }

        _waiters.Clear();
        Task delivered = Task.CompletedTask;
        foreach (CallbackRegistration registration in _callbacks)
        {
            delivered = EnqueueLocked(registration, nameof(IVirtualMachineCallback.OnDied), cb => cb.OnDied(Cid, reason));
        }

        return delivered;
    }

    /// <summary>After death: waits for OnDied delivery, deletes the folder, releases the CID. Never throws.</summary>
    private async Task FinishDeathAsync(Task delivered)
    {
        // Console waits fail at once with the reason (the console was drained before the death was marked), and input
        // writes still pending are abandoned.
        bool wasRunning;
        DeathReason died;
        VirtualMachineState reached;
        lock (_gate)
        {
            wasRunning = _countedRunning;
            // Stryker disable once Boolean : FinishDeathAsync runs once per VM (MarkDeadLocked hands it out once), so the flag is never read again.
            _countedRunning = false;
            died = _state.Reason ?? Core.DeathReason.Unknown;
            reached = _reached;
        }

        _launch.Console.Lines.End(awaited => new VirtualMachineDiedException(Cid, died, reached, awaited));
        _launch.Console.Disconnect();
        if (wasRunning)
        {
            VirtualizationTelemetry.AddRunning(_runner.Name, _cidNamespace, -1);
        }

        TagList tags = _tags;
        tags.Add(VirtualizationTelemetry.DeathReasonTag, died.ToString());
        VirtualizationTelemetry.Died.Add(1, tags);
        try
        {
            await delivered.ConfigureAwait(false);
            if (_payload is not null)
            {
                // After OnDied (and so after OnPayloadStarted): a stdio stream no callback took is closed here.
                await _payload.DisposeAsync().ConfigureAwait(false);
            }

            Directory.Delete(TemporaryDirectory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
#pragma warning disable CA1031 // Cleanup failure is logged; the VM is dead either way.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Log.TemporaryDirectoryNotDeleted(_logger, TemporaryDirectory, e);
        }
        finally
        {
            // Whatever happened above, the CID goes back and waiters learn of the death.
            _cidLease.Dispose();
            _death.TrySetResult(_state.Reason ?? Core.DeathReason.Unknown);
        }
    }

    private static void CheckTimeout(TimeSpan timeout)
    {
        if (timeout != Timeout.InfiniteTimeSpan && (timeout < TimeSpan.Zero || timeout.TotalMilliseconds > int.MaxValue))
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The timeout must be zero or more (at most 24 days), or Timeout.InfiniteTimeSpan.");
        }
    }

    private async Task SetSuspendedAsync(bool suspend, CancellationToken cancellationToken)
    {
        string operation = suspend ? "suspend" : "resume";
        IVmmProcess process = await AcquireControlAsync(operation, cancellationToken).ConfigureAwait(false);
        try
        {
            lock (_gate)
            {
                if (_state.Suspended == suspend)
                {
                    return; // Idempotent.
                }
            }

            await SendControlAsync(operation, process, p => suspend ? p.SuspendAsync(CancellationToken.None) : p.ResumeAsync(CancellationToken.None)).ConfigureAwait(false);
            lock (_gate)
            {
                // A VM that died meanwhile is Dead and never suspended; one being killed keeps the truth until it dies.
                if (_phase == Phase.Running)
                {
                    _state = _state with { Suspended = suspend };
                }
            }
        }
        finally
        {
            _control.Release();
        }
    }

    /// <summary>Takes the control slot of a running VM (released by the caller); throws if the VM is not running.</summary>
    private async Task<IVmmProcess> AcquireControlAsync(string operation, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _ = RunningProcessLocked(operation);
        }

        await _control.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            lock (_gate)
            {
                return RunningProcessLocked(operation);
            }
        }
        catch
        {
            // Stryker disable once Statement : reached only once the VM is killed or dead, after which every control call fails before it waits for the slot.
            _control.Release();
            throw;
        }
    }

    /// <summary>Sends one control request; a failure because the VM died meanwhile is reported as not running.</summary>
    private async Task SendControlAsync(string operation, IVmmProcess process, Func<IVmmProcess, Task> request)
    {
        try
        {
            await request(process).ConfigureAwait(false);
            ConsoleLog.ControlDone(_logger, operation);
        }
        catch (VirtualMachineControlException e)
        {
            lock (_gate)
            {
                if (_phase != Phase.Running || _killRequested)
                {
                    throw NotRunningLocked(operation, e);
                }
            }

            ConsoleLog.ControlFailed(_logger, operation, e);
            throw;
        }
    }

    private IVmmProcess RunningProcessLocked(string operation) =>
        _phase == Phase.Running && !_killRequested && _process is { } process ? process : throw NotRunningLocked(operation, null);

    private VirtualMachineNotRunningException NotRunningLocked(string operation, Exception? inner) =>
        new(Cid, operation, _state.State, _state.Reason, inner);

    private bool KilledByRequest()
    {
        lock (_gate)
        {
            return _killRequested;
        }
    }

    private InvalidOperationException KilledWhileStarting(Exception? inner) =>
        new($"VM with CID {Cid} was killed while it was starting; it is dead.", inner);

    private void EnqueueForAllLocked(string name, Action<IVirtualMachineCallback> call)
    {
        foreach (CallbackRegistration registration in _callbacks)
        {
            EnqueueLocked(registration, name, call);
        }
    }

    /// <summary>Sets the state and completes the waiters it satisfies (their continuations run asynchronously).</summary>
    private void SetStateLocked(StateBox state)
    {
        _state = state;
        _reached = state.State;
        for (int i = _waiters.Count - 1; i >= 0; i--)
        {
            StateWaiter waiter = _waiters[i];
            if (IsReachedLocked(waiter.Target))
            {
                waiter.Completion.TrySetResult(state.State);
                _waiters.RemoveAt(i);
            }
        }
    }

    private bool IsReachedLocked(VirtualMachineState target) =>
        target == VirtualMachineState.Dead ? _phase == Phase.Dead : _reached >= target;

    private VirtualMachineDiedException DiedBefore(VirtualMachineState target) =>
        new(Cid, _state.Reason ?? Core.DeathReason.Unknown, target, _reached);

    private void CancelWaiter(StateWaiter waiter, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _waiters.Remove(waiter);
        }

        waiter.Completion.TrySetCanceled(cancellationToken);
    }

    /// <summary>Arms the payload watchdog once the VMM is up (only for VMs with a payload channel and a finite timeout).</summary>
    private void StartWatchdogLocked()
    {
        if (_payload is null || _payloadStartTimeout == Timeout.InfiniteTimeSpan || _reached >= VirtualMachineState.Started)
        {
            return;
        }

        _watchdog = new Timer(static state => ((VmInstance)state!).OnPayloadStartTimeout(), this, _payloadStartTimeout, Timeout.InfiniteTimeSpan);
    }

    /// <summary>The payload did not report that it started in time: kill the VM, reported as <see cref="DeathReason.Hangup"/>.</summary>
    private void OnPayloadStartTimeout()
    {
        IVmmProcess? process;
        lock (_gate)
        {
            if (_phase != Phase.Running || _reached >= VirtualMachineState.Started || _killRequested)
            {
                return;
            }

            _hungUp = true;
            _killRequested = true;
            _killReason = Core.DeathReason.Hangup;
            process = _process;
        }

        PayloadLog.PayloadHangup(_logger, _payloadStartTimeout);
        Log.Killing(_logger);
        try
        {
            process?.Kill();
        }
#pragma warning disable CA1031 // A timer callback must never throw (it would end the process); the monitor still sees the exit.
        catch (Exception e)
#pragma warning restore CA1031
        {
            PayloadLog.HangupKillFailed(_logger, e);
        }
    }

    private Task EnqueueLocked(CallbackRegistration registration, string name, Action<IVirtualMachineCallback> call) =>
        _dispatcher.Enqueue(name, () =>
        {
            if (registration.IsActive)
            {
                call(registration.Callback);
            }
        });

    /// <summary>One <see cref="WaitForStateAsync"/> call waiting for its state.</summary>
    private sealed class StateWaiter(VirtualMachineState target)
    {
        public VirtualMachineState Target { get; } = target;

        public TaskCompletionSource<VirtualMachineState> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>The stdio stream of one <c>started</c> report: the first delivery that asks gets it, later ones get null.</summary>
    private sealed class StdioHandoff(Stream? stream, PayloadHost? host)
    {
        private Stream? _stream = stream;

        public Stream? Take()
        {
            Stream? taken = Interlocked.Exchange(ref _stream, null);
            if (taken is not null)
            {
                host?.MarkStdioDelivered();
            }

            return taken;
        }
    }

    /// <summary>The public state and death reason, swapped as one immutable object so readers never tear.</summary>
    private sealed record StateBox(VirtualMachineState State, DeathReason? Reason, bool Suspended = false)
    {
        internal static readonly StateBox NotStarted = new(VirtualMachineState.NotStarted, null);
        internal static readonly StateBox Starting = new(VirtualMachineState.Starting, null);
    }
}
