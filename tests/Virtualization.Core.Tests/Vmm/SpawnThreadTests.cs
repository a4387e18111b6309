using Virtualization.Core.Vmm;

namespace Virtualization.Core.Tests.Vmm;

/// <summary>The one dedicated thread that forks every VMM.</summary>
public sealed class SpawnThreadTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact(Timeout = 60_000)]
    public async Task RunAsync_RunsOnTheSpawnThread_EveryTime_AndReturnsTheResult()
    {
        int caller = Environment.CurrentManagedThreadId;

        int first = await SpawnThread.RunAsync(() => Environment.CurrentManagedThreadId).WaitAsync(Bound);
        int second = await SpawnThread.RunAsync(() => Environment.CurrentManagedThreadId).WaitAsync(Bound);

        first.Should().Be(SpawnThread.ManagedThreadId);
        second.Should().Be(first);
        first.Should().NotBe(caller);
        (await SpawnThread.RunAsync(() => "result").WaitAsync(Bound)).Should().Be("result");
    }

    [Fact(Timeout = 60_000)]
    public async Task RunAsync_TheThread_IsANamedBackgroundThread()
    {
        (string? Name, bool Background, bool Pool) thread = await SpawnThread.RunAsync(
            () => (Thread.CurrentThread.Name, Thread.CurrentThread.IsBackground, Thread.CurrentThread.IsThreadPoolThread)).WaitAsync(Bound);

        thread.Should().Be(("Virtualization.Core VMM spawner", true, false));
    }

    [Fact(Timeout = 60_000)]
    public async Task RunAsync_AThrowingFunction_FaultsTheTaskWithThatException_AndTheThreadGoesOn()
    {
        var thrown = new InvalidOperationException("spawn failed");

        Func<Task> act = () => SpawnThread.RunAsync<int>(() => throw thrown).WaitAsync(Bound);

        (await act.Should().ThrowExactlyAsync<InvalidOperationException>()).Which.Should().BeSameAs(thrown);
        (await SpawnThread.RunAsync(() => 5).WaitAsync(Bound)).Should().Be(5);
    }

    [Fact(Timeout = 60_000)]
    public async Task StartNew_RunsItsItemsInOrder_OnANewNamedBackgroundThread_UntilTheQueueIsCompleted()
    {
        // A queue of its own: the process's spawn thread was made before this test, so only a new one shows how it is made.
        using System.Collections.Concurrent.BlockingCollection<Action> work = SpawnThread.StartNew();
        var seen = new System.Collections.Concurrent.ConcurrentQueue<(int Item, string? Name, bool Background, bool Pool, int Id)>();
        var done = new TaskCompletionSource<Thread>(TaskCreationOptions.RunContinuationsAsynchronously);
        for (int i = 0; i < 3; i++)
        {
            int item = i;
            work.Add(() => seen.Enqueue((item, Thread.CurrentThread.Name, Thread.CurrentThread.IsBackground, Thread.CurrentThread.IsThreadPoolThread, Environment.CurrentManagedThreadId)));
        }

        work.Add(() => done.SetResult(Thread.CurrentThread));
        Thread thread = await done.Task.WaitAsync(Bound);

        seen.Select(s => (s.Item, s.Name, s.Background, s.Pool)).Should().Equal(
            (0, "Virtualization.Core VMM spawner", true, false),
            (1, "Virtualization.Core VMM spawner", true, false),
            (2, "Virtualization.Core VMM spawner", true, false));
        seen.Select(s => s.Id).Distinct().Should().Equal(thread.ManagedThreadId);
        thread.ManagedThreadId.Should().NotBe(SpawnThread.ManagedThreadId, "a new queue has a new thread");
        work.CompleteAdding();
        thread.Join(Bound).Should().BeTrue("the thread ends once its queue is completed");
    }
}
