using Microsoft.Extensions.Logging;
using Virtualization.Core.Lifecycle;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Lifecycle;

/// <summary><see cref="CallbackDispatcher"/> alone: order, one call at a time, and a throwing callback logged, not propagated.</summary>
public sealed class CallbackDispatcherTests
{
    [Fact(Timeout = 30_000)]
    public async Task Enqueue_ManyCalls_RunInOrderOneAtATime()
    {
        var dispatcher = new CallbackDispatcher(new RecordingLogger());
        var order = new List<int>();
        int running = 0;
        int overlaps = 0;
        Task last = Task.CompletedTask;

        for (int i = 0; i < 200; i++)
        {
            int n = i;
            last = dispatcher.Enqueue("OnTest", () =>
            {
                if (Interlocked.Increment(ref running) != 1)
                {
                    Interlocked.Increment(ref overlaps);
                }

                order.Add(n);
                Thread.Yield();
                Interlocked.Decrement(ref running);
            });
        }

        await last;

        order.Should().Equal(Enumerable.Range(0, 200));
        overlaps.Should().Be(0);
    }

    [Fact(Timeout = 30_000)]
    public async Task Enqueue_CallbackThrows_IsLoggedAsErrorEvent8_AndTheNextCallbackStillRuns()
    {
        var logger = new RecordingLogger();
        var dispatcher = new CallbackDispatcher(logger);
        var boom = new InvalidOperationException("callback boom");
        bool nextRan = false;

        Task failed = dispatcher.Enqueue("OnDied", () => throw boom);
        Task next = dispatcher.Enqueue("OnPayloadReady", () => nextRan = true);
        await next;

        failed.IsCompletedSuccessfully.Should().BeTrue("the delivery task never faults");
        nextRan.Should().BeTrue();
        (LogLevel Level, EventId Event, string Message, Exception? Exception) entry = logger.Entries.Should().ContainSingle().Which;
        entry.Level.Should().Be(LogLevel.Error);
        entry.Event.Id.Should().Be(8);
        entry.Event.Name.Should().Be("CallbackFailed");
        entry.Message.Should().Be("A callback of the VM threw from OnDied; other callbacks still run");
        entry.Exception.Should().BeSameAs(boom);
    }

    [Fact(Timeout = 30_000)]
    public async Task Enqueue_CallbackReturns_LogsNothing()
    {
        var logger = new RecordingLogger();
        var dispatcher = new CallbackDispatcher(logger);

        await dispatcher.Enqueue("OnDied", () => { });

        logger.Calls.Should().BeEmpty();
    }
}
