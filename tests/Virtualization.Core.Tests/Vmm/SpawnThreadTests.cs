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
}
