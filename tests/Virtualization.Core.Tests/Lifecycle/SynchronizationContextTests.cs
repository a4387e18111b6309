using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Lifecycle;

/// <summary>
/// The library never resumes on the caller's <see cref="SynchronizationContext"/> (a UI thread, a single-threaded test
/// context): every await inside it uses <c>ConfigureAwait(false)</c>. Each public call is started with a context that
/// counts what is posted to it; the test then awaits the returned task outside that context, so every post counted
/// comes from inside the library. (Stryker ignores <c>ConfigureAwait</c> argument mutations; this is the test that
/// pins the behaviour they would change, at the first await of each public call that really yields.)
/// </summary>
public sealed class SynchronizationContextTests
{
    [Fact(Timeout = 60_000)]
    public async Task PublicCalls_NeverPostToTheCallersContext()
    {
        await using var h = new TestHarness();
        var context = new CountingContext();
        SynchronizationContext? seenInCallback = null;
        var callback = new RecordingCallback { OnDiedAction = () => seenInCallback = SynchronizationContext.Current };

        IVirtualMachine vm = await Under(context, () => h.Service.CreateVmAsync(h.Config(new FakeScenario { ConsoleLines = 3 }), Stream.Null));
        vm.RegisterCallback(callback);
        await Under(context, () => vm.StartAsync());
        h.TrackPid(vm);
        string line = await Under(context, () => vm.WaitForConsoleLineAsync("fake guest console line 3", TimeSpan.FromSeconds(30)));
        await Under(context, () => vm.StopAsync());
        DeathReason reason = await Under(context, () => vm.WaitForDeathAsync());
        await callback.Died;

        line.Should().Be("fake guest console line 3");
        reason.Should().Be(DeathReason.Shutdown);
        context.Posts.Should().Be(0, "no continuation inside the library may be queued to the caller's context");
        seenInCallback.Should().NotBeSameAs(context, "callbacks are delivered off the caller's context");
    }

    [Fact(Timeout = 30_000)]
    public async Task CountingContext_CountsAContinuationThatCapturesIt()
    {
        // The check above can fail: an await that keeps the context is counted.
        var context = new CountingContext();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        Task<bool> captured = Under(context, async () => await gate.Task);
        gate.SetResult();
        await captured;

        context.Posts.Should().Be(1);
    }

    /// <summary>Starts <paramref name="call"/> with <paramref name="context"/> current, then leaves it.</summary>
    private static Task<T> Under<T>(SynchronizationContext context, Func<Task<T>> call)
    {
        SynchronizationContext? previous = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(context);
        try
        {
            return call();
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(previous);
        }
    }

    private static Task<bool> Under(SynchronizationContext context, Func<Task> call) =>
        Under<bool>(context, async () =>
        {
            await call().ConfigureAwait(false);
            return true;
        });

    /// <summary>Counts posts and runs them on the thread pool (so a wrongly captured continuation still completes).</summary>
    private sealed class CountingContext : SynchronizationContext
    {
        private int _posts;

        public int Posts => Volatile.Read(ref _posts);

        public override void Post(SendOrPostCallback d, object? state)
        {
            Interlocked.Increment(ref _posts);
            ThreadPool.QueueUserWorkItem(_ => d(state));
        }

        public override void Send(SendOrPostCallback d, object? state)
        {
            Interlocked.Increment(ref _posts);
            d(state);
        }
    }
}
