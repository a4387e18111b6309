using Virtualization.Core.Vmm;

namespace Virtualization.Core.Tests.Vmm;

/// <summary>
/// The start wait's polling loop, driven by a scripted probe (no process). The probe's calls are counted and the
/// process's exit is a <see cref="TaskCompletionSource"/> the probe completes on a chosen call, so every step is an
/// event. The interval schedule (1 ms for 16 ms, doubling to 16 ms, 100 ms after 2 s) is timing only and not asserted.
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
}
