using Virtualization.Core.Vmm;

namespace Virtualization.Core.Tests.Vmm;

/// <summary>
/// The start wait's polling loop, driven by a scripted probe (no process). The probe's calls are counted and the
/// process's exit is a <see cref="TaskCompletionSource"/> the probe completes on a chosen call, so every step is an
/// event. The interval schedule (1 ms for 16 ms, doubling to 16 ms, 100 ms after 2 s) is asserted through
/// <see cref="ReadinessProbe.NextInterval"/> and through the overload that takes a clock and a delay (a fake clock that the
/// fake delay moves on: nothing sleeps).
/// </summary>
public sealed class ReadinessProbeTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private static Func<Task<VirtualMachineStartException>> NoExit() =>
        () => throw new InvalidOperationException("the exit must not be described");

    [Fact(Timeout = 60_000)]
    public async Task WaitAsync_FirstProbeTrue_ReturnsAfterOneCall()
    {
        int calls = 0;
        using var cts = new CancellationTokenSource();
        CancellationToken seen = default;
        Func<CancellationToken, ValueTask<bool>> probe = token =>
        {
            seen = token;
            return ++calls == 1 ? ValueTask.FromResult(true) : throw new InvalidOperationException("probed again");
        };

        await ReadinessProbe.WaitAsync(probe, new TaskCompletionSource().Task, NoExit(), cts.Token).WaitAsync(Bound);

        calls.Should().Be(1);
        seen.Should().Be(cts.Token);
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitAsync_ProbeTrueOnTheThirdCall_ReturnsAfterExactlyThreeCalls()
    {
        int calls = 0;
        Func<CancellationToken, ValueTask<bool>> probe = _ =>
        {
            calls++;
            return calls <= 3 ? ValueTask.FromResult(calls == 3) : throw new InvalidOperationException("probed again");
        };

        await ReadinessProbe.WaitAsync(probe, new TaskCompletionSource().Task, NoExit(), CancellationToken.None).WaitAsync(Bound);

        calls.Should().Be(3);
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitAsync_AlreadyExited_ProbesOnce_ThenThrowsTheDescribedException()
    {
        int calls = 0;
        int described = 0;
        var expected = new VirtualMachineStartException("exited with code 3", 3, "boom");
        Func<CancellationToken, ValueTask<bool>> probe = _ =>
        {
            calls++;
            return ValueTask.FromResult(false);
        };

        Func<Task> act = () => ReadinessProbe.WaitAsync(
            probe,
            Task.CompletedTask,
            () =>
            {
                described++;
                return Task.FromResult(expected);
            },
            CancellationToken.None).WaitAsync(Bound);

        (await act.Should().ThrowExactlyAsync<VirtualMachineStartException>()).Which.Should().BeSameAs(expected);
        calls.Should().Be(1);
        described.Should().Be(1);
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitAsync_AlreadyExited_ButTheProbeSaysUp_Returns_WithoutDescribingTheExit()
    {
        int calls = 0;
        Func<CancellationToken, ValueTask<bool>> probe = _ =>
        {
            calls++;
            return ValueTask.FromResult(true);
        };

        await ReadinessProbe.WaitAsync(probe, Task.CompletedTask, NoExit(), CancellationToken.None).WaitAsync(Bound);

        calls.Should().Be(1);
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitAsync_ExitDuringTheWait_ProbesOnceMoreAfterTheExit_ThenThrows()
    {
        // The process exits while the probe's second call runs: that call's "not up" does not count as seen-after-exit
        // (the exit was not yet complete when the loop looked), so there is exactly one more probe, then the exception.
        int calls = 0;
        var exited = new TaskCompletionSource();
        var expected = new VirtualMachineStartException("gone", 1, string.Empty);
        Func<CancellationToken, ValueTask<bool>> probe = _ =>
        {
            calls++;
            if (calls == 2)
            {
                exited.SetResult();
            }

            return calls <= 3 ? ValueTask.FromResult(false) : throw new InvalidOperationException("probed again");
        };

        Func<Task> act = () => ReadinessProbe.WaitAsync(probe, exited.Task, () => Task.FromResult(expected), CancellationToken.None)
            .WaitAsync(Bound);

        (await act.Should().ThrowExactlyAsync<VirtualMachineStartException>()).Which.Should().BeSameAs(expected);
        calls.Should().Be(3);
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitAsync_ExitDuringTheWait_TheLastProbeSaysUp_Returns()
    {
        int calls = 0;
        var exited = new TaskCompletionSource();
        Func<CancellationToken, ValueTask<bool>> probe = _ =>
        {
            calls++;
            if (calls == 1)
            {
                exited.SetResult();
            }

            return ValueTask.FromResult(calls == 2);
        };

        await ReadinessProbe.WaitAsync(probe, exited.Task, NoExit(), CancellationToken.None).WaitAsync(Bound);

        calls.Should().Be(2);
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitAsync_ExitWhileWaitingForTheInterval_WakesTheLoop()
    {
        // The second probe call blocks until the test has seen the first wait begin; the exit completes while the loop
        // waits; it then probes once more and throws. Event-driven: nothing here depends on the interval's length.
        int calls = 0;
        var exited = new TaskCompletionSource();
        var secondCall = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var expected = new VirtualMachineStartException("gone", 9, string.Empty);
        Func<CancellationToken, ValueTask<bool>> probe = _ =>
        {
            calls++;
            if (calls == 2)
            {
                secondCall.SetResult();
            }

            return ValueTask.FromResult(false);
        };

        Task wait = ReadinessProbe.WaitAsync(probe, exited.Task, () => Task.FromResult(expected), CancellationToken.None);
        await secondCall.Task.WaitAsync(Bound);
        exited.SetResult();

        Func<Task> act = () => wait.WaitAsync(Bound);
        (await act.Should().ThrowExactlyAsync<VirtualMachineStartException>()).Which.Should().BeSameAs(expected);
        calls.Should().BeGreaterThanOrEqualTo(3);
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitAsync_CancelledBeforeTheCall_ThrowsWithoutProbing()
    {
        int calls = 0;
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        Func<CancellationToken, ValueTask<bool>> probe = _ =>
        {
            calls++;
            return ValueTask.FromResult(true);
        };

        Func<Task> act = () => ReadinessProbe.WaitAsync(probe, new TaskCompletionSource().Task, NoExit(), cts.Token).WaitAsync(Bound);

        (await act.Should().ThrowAsync<OperationCanceledException>()).Which.CancellationToken.Should().Be(cts.Token);
        calls.Should().Be(0);
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitAsync_CancelledDuringTheWait_Throws_AndProbesNoMore()
    {
        // Cancelled from inside the second probe call (which says "not up"); a third call would say "up".
        int calls = 0;
        using var cts = new CancellationTokenSource();
        Func<CancellationToken, ValueTask<bool>> probe = _ =>
        {
            calls++;
            if (calls == 2)
            {
                cts.Cancel();
            }

            return ValueTask.FromResult(calls >= 3);
        };

        Func<Task> act = () => ReadinessProbe.WaitAsync(probe, new TaskCompletionSource().Task, NoExit(), cts.Token).WaitAsync(Bound);

        await act.Should().ThrowAsync<OperationCanceledException>();
        calls.Should().Be(2);
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitAsync_TheProbeThrowsOnTheToken_ThatIsTheException()
    {
        using var cts = new CancellationTokenSource();
        var thrown = new OperationCanceledException("probe cancelled", cts.Token);
        Func<CancellationToken, ValueTask<bool>> probe = _ => throw thrown;

        Func<Task> act = () => ReadinessProbe.WaitAsync(probe, new TaskCompletionSource().Task, NoExit(), cts.Token).WaitAsync(Bound);

        (await act.Should().ThrowAsync<OperationCanceledException>()).Which.Should().BeSameAs(thrown);
    }

    [Theory]
    [InlineData(1, 0, 1)] // fast phase: 1 ms
    [InlineData(8, 15, 1)] // still the fast phase: back to 1 ms whatever the last interval
    [InlineData(1, 16, 2)] // the fast phase ends at 16 ms: doubling from there
    [InlineData(2, 16, 4)]
    [InlineData(7, 100, 14)] // doubling below the cap
    [InlineData(8, 100, 16)] // doubling up to the cap
    [InlineData(10, 100, 16)] // capped at 16 ms
    [InlineData(16, 100, 16)]
    [InlineData(1, 2000, 2)] // 2 s exactly is not yet the slow phase
    [InlineData(16, 2000, 16)]
    [InlineData(1, 2001, 100)] // after 2 s: 100 ms
    [InlineData(16, 2001, 100)]
    [InlineData(16, 60_000, 100)]
    public void NextInterval_FollowsTheSchedule(int intervalMs, long elapsedMs, int expectedMs)
    {
        ReadinessProbe.NextInterval(TimeSpan.FromMilliseconds(intervalMs), elapsedMs).Should().Be(TimeSpan.FromMilliseconds(expectedMs));
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitAsync_FakeClock_WaitsOneMillisecondFor16Ms_ThenDoublesTo16_AndReturnsOnTheReadyPoll()
    {
        // The clock starts far from 0 (elapsed is a difference); each fake delay moves it on by the interval asked for.
        long now = 5_000_000;
        var delays = new List<double>();
        int calls = 0;
        using var cts = new CancellationTokenSource();
        Func<TimeSpan, CancellationToken, Task> delay = (interval, token) =>
        {
            token.Should().Be(cts.Token);
            delays.Add(interval.TotalMilliseconds);
            now += (long)interval.TotalMilliseconds;
            return Task.CompletedTask;
        };
        Func<CancellationToken, ValueTask<bool>> probe = _ => ValueTask.FromResult(++calls == 23);

        await ReadinessProbe.WaitAsync(probe, new TaskCompletionSource().Task, NoExit(), () => now, delay, cts.Token).WaitAsync(Bound);

        calls.Should().Be(23);
        delays.Should().Equal(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 4, 8, 16, 16, 16);
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitAsync_FakeClock_After2Seconds_Polls_Every100Ms()
    {
        // Every fake delay takes a whole second: elapsed 1 s and 2 s double the interval, 3 s and later are the slow phase.
        long now = 7_000;
        var delays = new List<double>();
        int calls = 0;
        Func<TimeSpan, CancellationToken, Task> delay = (interval, _) =>
        {
            delays.Add(interval.TotalMilliseconds);
            now += 1000;
            return Task.CompletedTask;
        };
        Func<CancellationToken, ValueTask<bool>> probe = _ => ValueTask.FromResult(++calls == 6);

        await ReadinessProbe.WaitAsync(probe, new TaskCompletionSource().Task, NoExit(), () => now, delay, CancellationToken.None).WaitAsync(Bound);

        calls.Should().Be(6);
        delays.Should().Equal(1, 2, 4, 100, 100);
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitAsync_FakeClock_ExitDuringADelayThatNeverEnds_ProbesOnceMore_ThenThrows()
    {
        // The delay never completes: only the exit can wake the loop.
        var exited = new TaskCompletionSource();
        var expected = new VirtualMachineStartException("gone", 2, string.Empty);
        int calls = 0;
        int delays = 0;
        Func<TimeSpan, CancellationToken, Task> delay = (_, _) =>
        {
            delays++;
            exited.SetResult();
            return new TaskCompletionSource().Task;
        };
        Func<CancellationToken, ValueTask<bool>> probe = _ => ValueTask.FromResult(++calls > 2);

        Func<Task> act = () => ReadinessProbe.WaitAsync(probe, exited.Task, () => Task.FromResult(expected), () => 0, delay, CancellationToken.None)
            .WaitAsync(Bound);

        (await act.Should().ThrowExactlyAsync<VirtualMachineStartException>()).Which.Should().BeSameAs(expected);
        calls.Should().Be(2);
        delays.Should().Be(1);
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitAsync_FakeClock_CancelledDuringADelay_ThrowsWithoutAnotherProbe()
    {
        // The fake delay cancels the token and completes; the next turn of the loop throws before probing.
        using var cts = new CancellationTokenSource();
        int calls = 0;
        Func<TimeSpan, CancellationToken, Task> delay = (_, _) =>
        {
            cts.Cancel();
            return Task.CompletedTask;
        };
        Func<CancellationToken, ValueTask<bool>> probe = _ => ValueTask.FromResult(++calls > 1);

        Func<Task> act = () => ReadinessProbe.WaitAsync(probe, new TaskCompletionSource().Task, NoExit(), () => 0, delay, cts.Token).WaitAsync(Bound);

        (await act.Should().ThrowAsync<OperationCanceledException>()).Which.CancellationToken.Should().Be(cts.Token);
        calls.Should().Be(1);
    }
}
