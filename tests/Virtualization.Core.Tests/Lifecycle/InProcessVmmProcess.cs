using Virtualization.Core.Vmm;

namespace Virtualization.Core.Tests.Lifecycle;

/// <summary>The "VMM" of <see cref="InProcessVmm"/>: no process; the test says when it is ready, exits or answers.</summary>
internal sealed class InProcessVmmProcess : IVmmProcess
{
    public const int Pid = 424242;

    private readonly TaskCompletionSource<VmmExit> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _waitingForReady = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _killed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _kills;
    private int _stopRequests;
    private int _suspends;
    private int _resumes;
    private int _balloons;

    /// <summary>Complete it (or fail it) to end WaitUntilReadyAsync.</summary>
    public TaskCompletionSource Ready { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when VmInstance waits for readiness.</summary>
    public Task WaitingForReady => _waitingForReady.Task;

    /// <summary>Completes at the first <see cref="Kill"/>.</summary>
    public Task Killed => _killed.Task;

    /// <summary>Kill only counts; the test ends the process with <see cref="Exit"/>.</summary>
    public bool IgnoreKill { get; set; }

    /// <summary>What a graceful stop request does (default: the guest shuts down, exit code 0).</summary>
    public Func<Task>? OnStopRequest { get; set; }

    /// <summary>What every control request (suspend, resume, balloon) does before it succeeds.</summary>
    public Func<Task>? OnControl { get; set; }

    public int Kills => Volatile.Read(ref _kills);

    public int StopRequests => Volatile.Read(ref _stopRequests);

    public int Suspends => Volatile.Read(ref _suspends);

    public int Resumes => Volatile.Read(ref _resumes);

    public int Balloons => Volatile.Read(ref _balloons);

    public int ProcessId => Pid;

    public Task<VmmExit> Exited => _exited.Task;

    public string StandardErrorTail { get; set; } = string.Empty;

    public void Exit(int code, DeathReason reason) => _exited.TrySetResult(new VmmExit(code, reason));

    public void FailWatch(Exception e) => _exited.TrySetException(e);

    public async Task WaitUntilReadyAsync(CancellationToken cancellationToken)
    {
        _waitingForReady.TrySetResult();
        Task exited = _exited.Task;
        Task first = await Task.WhenAny(Ready.Task, exited).WaitAsync(cancellationToken);
        if (first == exited)
        {
            throw new IOException("the in-process VMM exited before it was ready");
        }

        await Ready.Task;
    }

    public async Task RequestStopAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _stopRequests);
        if (OnStopRequest is not null)
        {
            await OnStopRequest();
            return;
        }

        Exit(0, DeathReason.Shutdown);
    }

    public void Kill()
    {
        Interlocked.Increment(ref _kills);
        _killed.TrySetResult();
        if (!IgnoreKill)
        {
            Exit(137, DeathReason.Killed);
        }
    }

    public async Task SuspendAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _suspends);
        await Control();
    }

    public async Task ResumeAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _resumes);
        await Control();
    }

    public async Task SetBalloonAsync(long balloonBytes, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _balloons);
        await Control();
    }

    public async Task<MemoryBalloonStats> GetBalloonStatsAsync(CancellationToken cancellationToken)
    {
        await Control();
        throw new NotSupportedException("balloon statistics are not faked");
    }

    private Task Control() => OnControl?.Invoke() ?? Task.CompletedTask;
}
