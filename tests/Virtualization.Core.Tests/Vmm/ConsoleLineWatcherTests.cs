using System.Text;
using Microsoft.Extensions.Logging;
using Virtualization.Core.Tests.Infrastructure;
using Virtualization.Core.Vmm;

namespace Virtualization.Core.Tests.Vmm;

/// <summary>
/// The console line splitter and its waits, fed bytes directly (no VM). The lines it emits are read from its line
/// logger (<c>Console: {Line}</c>, one entry per line, in order).
/// </summary>
public sealed class ConsoleLineWatcherTests : IDisposable
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    private readonly ListLogger _log = new();

    public void Dispose() => _log.Dispose();

    private ConsoleLineWatcher NewWatcher() => new(_log, 7);

    private List<string> Lines() => [.. _log.Entries.Select(e => e.Message["Console: ".Length..])];

    private static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);

    [Fact]
    public void Observe_ChunkStartingWithNewline_IsAnEmptyLineThenTheNext()
    {
        ConsoleLineWatcher watcher = NewWatcher();

        watcher.Observe("\nabc\n"u8);

        Lines().Should().Equal("", "abc");
    }

    [Fact]
    public void Observe_ANewlineAlone_IsOneEmptyLine()
    {
        ConsoleLineWatcher watcher = NewWatcher();

        watcher.Observe("\n"u8);
        watcher.Observe("\n"u8);

        Lines().Should().Equal("", "");
        _log.Entries.Should().AllSatisfy(e => e.Level.Should().Be(LogLevel.Debug));
        watcher.HistoryCount.Should().Be(2);
    }

    [Fact]
    public void Observe_SeveralLinesInOneChunk_EachIsALine_AndTheUnfinishedTailWaits()
    {
        ConsoleLineWatcher watcher = NewWatcher();

        watcher.Observe("one\ntwo\n\nthree"u8);

        Lines().Should().Equal("one", "two", "");
        watcher.PartialLength.Should().Be(5, "\"three\" waits for its newline");
    }

    [Fact]
    public void Observe_ALineSplitAcrossCalls_IsJoined()
    {
        ConsoleLineWatcher watcher = NewWatcher();

        watcher.Observe("hel"u8);
        watcher.Observe("lo wo"u8);
        Lines().Should().BeEmpty("no newline yet");
        watcher.PartialLength.Should().Be(8);
        watcher.Observe("rld\nnext"u8);
        watcher.Observe("\n"u8);

        Lines().Should().Equal("hello world", "next");
        watcher.PartialLength.Should().Be(0);
    }

    [Fact]
    public void Observe_CarriageReturnsAtTheEndAreStripped_OthersKept()
    {
        ConsoleLineWatcher watcher = NewWatcher();

        watcher.Observe("abc\r\n"u8);
        watcher.Observe("a\rb\r\r\n"u8);
        watcher.Observe("\r\n"u8);

        Lines().Should().Equal("abc", "a\rb", "");
    }

    [Fact]
    public void Observe_Utf8_IsDecoded_EvenWhenACharacterIsSplitAcrossCalls()
    {
        ConsoleLineWatcher watcher = NewWatcher();
        byte[] bytes = [0x68, 0xC3, 0xA9, 0x20, 0xE2, 0x9C, 0x93, 0x0A]; // "hé ✓\n"

        watcher.Observe(bytes.AsSpan(0, 2)); // 'h' and the first byte of 'é'
        watcher.Observe(bytes.AsSpan(2, 3));
        watcher.Observe(bytes.AsSpan(5));

        Lines().Should().Equal("h\u00e9 \u2713");
    }

    [Fact]
    public void Observe_ExactlyMaxLineBytes_IsOneLine()
    {
        ConsoleLineWatcher watcher = NewWatcher();

        watcher.Observe(Ascii(new string('a', 4096) + "\nnext\n"));

        Lines().Should().Equal(new string('a', 4096), "next");
    }

    [Fact]
    public void Observe_OneByteOverMaxLineBytes_IsCutAt4096_TheRestDropped_TheNextLineIntact()
    {
        ConsoleLineWatcher watcher = NewWatcher();

        watcher.Observe(Ascii(new string('a', 4096) + "b"));
        Lines().Should().Equal([new string('a', 4096)], "the cut head is a line as soon as it is cut");
        watcher.PartialLength.Should().Be(0);

        watcher.Observe("rest of the long line"u8);
        watcher.PartialLength.Should().Be(0, "the rest of a cut line is not kept");
        watcher.Observe("\nnext\n"u8);

        Lines().Should().Equal(new string('a', 4096), "next");
    }

    [Fact]
    public void Observe_CutAcrossTwoCalls_KeepsExactly4096_AndDropsTheRest()
    {
        ConsoleLineWatcher watcher = NewWatcher();

        watcher.Observe(Ascii(new string('a', 4000)));
        watcher.Observe(Ascii(new string('b', 96) + "ccc"));
        Lines().Should().Equal(new string('a', 4000) + new string('b', 96));

        watcher.Observe("ddd\nafter\n"u8);

        Lines().Should().Equal(new string('a', 4000) + new string('b', 96), "after");
    }

    [Fact]
    public void Observe_FillingExactlyToMaxAcrossTwoCalls_ThenNewline_IsOneLine()
    {
        ConsoleLineWatcher watcher = NewWatcher();

        watcher.Observe(Ascii(new string('a', 4000)));
        watcher.Observe(Ascii(new string('b', 96)));
        Lines().Should().BeEmpty("4096 bytes fit: the line is not cut");
        watcher.Observe("\nafter\n"u8);

        Lines().Should().Equal(new string('a', 4000) + new string('b', 96), "after");
    }

    [Fact]
    public void Complete_WithAPendingLine_EmitsIt()
    {
        ConsoleLineWatcher watcher = NewWatcher();

        watcher.Observe("done\nlast words"u8);
        watcher.Complete();

        Lines().Should().Equal("done", "last words");
    }

    [Fact]
    public void Complete_WithNothingPending_EmitsNothing()
    {
        ConsoleLineWatcher watcher = NewWatcher();

        watcher.Complete();
        watcher.Observe("line\n"u8);
        watcher.Complete();

        Lines().Should().Equal("line");
    }

    [Fact]
    public void Complete_WhileSkippingTheRestOfACutLine_EmitsNothingMore()
    {
        ConsoleLineWatcher watcher = NewWatcher();

        watcher.Observe(Ascii(new string('a', 5000)));
        watcher.Complete();

        Lines().Should().Equal(new string('a', 4096));
    }

    [Fact]
    public void History_KeepsExactly16KiBOfCharacters_DroppingTheOldestLines()
    {
        ConsoleLineWatcher watcher = NewWatcher();
        for (int i = 0; i < 16; i++)
        {
            watcher.Observe(Ascii($"{i:D4}{new string('x', 1020)}\n")); // 1024 characters each
        }

        watcher.HistoryCount.Should().Be(16, "16 x 1024 = 16384 characters fit exactly");

        watcher.Observe(Ascii($"0016{new string('x', 1020)}\n"));
        watcher.HistoryCount.Should().Be(16, "the oldest line made room");
        watcher.Observe("tiny\n"u8);
        watcher.HistoryCount.Should().Be(16, "one 1024-character line made room for 4 characters");
        watcher.Observe("tiny\n"u8);
        watcher.HistoryCount.Should().Be(17, "the 4 + 4 characters fit in what the dropped line left");
    }

    [Fact(Timeout = 60_000)]
    public async Task History_TheDroppedLineNoLongerSatisfiesAWait_TheOthersDo()
    {
        ConsoleLineWatcher watcher = NewWatcher();
        for (int i = 0; i < 17; i++)
        {
            watcher.Observe(Ascii($"{i:D4}{new string('x', 1020)}\n"));
        }

        (await watcher.WaitAsync(l => l.StartsWith("0001", StringComparison.Ordinal), "line 1", Long, CancellationToken.None))
            .Should().StartWith("0001");
        (await watcher.WaitAsync(l => l.StartsWith("0016", StringComparison.Ordinal), "line 16", Long, CancellationToken.None))
            .Should().StartWith("0016");
        Func<Task> oldest = () => watcher.WaitAsync(l => l.StartsWith("0000", StringComparison.Ordinal), "line 0", TimeSpan.FromMilliseconds(1), CancellationToken.None);
        await oldest.Should().ThrowAsync<TimeoutException>();
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitAsync_ALineSeenBefore_SatisfiesIt_AndTheWaitIsNotLeftRegistered()
    {
        ConsoleLineWatcher watcher = NewWatcher();
        watcher.Observe("booted\nlogin:\n"u8);

        Task<string> wait = watcher.WaitAsync(l => l.StartsWith("boot", StringComparison.Ordinal), "boot", Long, CancellationToken.None);

        wait.IsCompletedSuccessfully.Should().BeTrue("the line is in the history");
        (await wait).Should().Be("booted");
        watcher.WaiterCount.Should().Be(0);
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitAsync_ALineToCome_SatisfiesIt_AndTheWaitIsRemoved()
    {
        ConsoleLineWatcher watcher = NewWatcher();
        watcher.Observe("noise\n"u8);
        Task<string> wait = watcher.WaitAsync(l => l.Contains("ready", StringComparison.Ordinal), "ready", Long, CancellationToken.None);
        watcher.WaiterCount.Should().Be(1);

        watcher.Observe("not yet\nsystem rea"u8);
        watcher.Observe("dy\n"u8);

        (await wait).Should().Be("system ready");
        watcher.WaiterCount.Should().Be(0);
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitAsync_AlreadyCancelledToken_Throws_EvenWhenTheHistoryMatches()
    {
        ConsoleLineWatcher watcher = NewWatcher();
        watcher.Observe("booted\n"u8);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        Func<Task> act = () => watcher.WaitAsync(_ => true, "anything", Long, cancelled.Token);

        await act.Should().ThrowAsync<OperationCanceledException>();
        watcher.WaiterCount.Should().Be(0);
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitAsync_CancelledWhileWaiting_ThrowsOperationCanceled_NotTimeout()
    {
        ConsoleLineWatcher watcher = NewWatcher();
        using var cancel = new CancellationTokenSource();
        Task<string> wait = watcher.WaitAsync(_ => false, "never", Long, cancel.Token);

        await cancel.CancelAsync();

        Func<Task> act = () => wait;
        (await act.Should().ThrowAsync<OperationCanceledException>()).Which.Should().NotBeOfType<TimeoutException>();
        watcher.WaiterCount.Should().Be(0);
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitAsync_NoMatchInTime_ThrowsTimeout_NamingTheCidAndTheDescription_AndIsRemoved()
    {
        ConsoleLineWatcher watcher = NewWatcher();
        watcher.Observe("something else\n"u8);

        Func<Task> act = () => watcher.WaitAsync(_ => false, "the text \"login:\"", TimeSpan.FromMilliseconds(50), CancellationToken.None);

        (await act.Should().ThrowExactlyAsync<TimeoutException>()).Which.Message.Should().Be(
            "No console line of VM with CID 7 matched the text \"login:\" within 0.05 s; the VM is still running. "
            + "Check the console output, or wait longer.");
        watcher.WaiterCount.Should().Be(0);
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitAsync_InfiniteTimeout_WaitsForTheLine()
    {
        ConsoleLineWatcher watcher = NewWatcher();
        Task<string> wait = watcher.WaitAsync(l => l == "late", "late", Timeout.InfiniteTimeSpan, CancellationToken.None);

        watcher.Observe("late\n"u8);

        (await wait).Should().Be("late");
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitAsync_AMatcherThatThrows_FailsOnlyItsOwnWait()
    {
        ConsoleLineWatcher watcher = NewWatcher();
        var boom = new InvalidOperationException("matcher broke");
        Task<string> throwing = watcher.WaitAsync(_ => throw boom, "throwing", Long, CancellationToken.None);
        Task<string> other = watcher.WaitAsync(l => l == "line", "other", Long, CancellationToken.None);

        watcher.Observe("line\n"u8);

        Func<Task> act = () => throwing;
        (await act.Should().ThrowAsync<InvalidOperationException>()).Which.Should().BeSameAs(boom);
        (await other).Should().Be("line");
        Lines().Should().Equal("line");
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitAsync_AMatcherThatThrowsOnARecentLine_FailsItsWait_AndIsNotLeftRegistered()
    {
        ConsoleLineWatcher watcher = NewWatcher();
        watcher.Observe("earlier\n"u8);
        var boom = new InvalidOperationException("matcher broke");
        int calls = 0;

        Func<Task> act = () => watcher.WaitAsync(_ =>
        {
            calls++;
            throw boom;
        }, "throwing", Long, CancellationToken.None);

        (await act.Should().ThrowAsync<InvalidOperationException>()).Which.Should().BeSameAs(boom);
        watcher.WaiterCount.Should().Be(0, "a wait that failed is gone");
        watcher.Observe("later\n"u8);
        calls.Should().Be(1, "the failed wait's matcher is not asked about later lines");
    }

    [Fact(Timeout = 60_000)]
    public async Task WaitAsync_AMatcherThatThrowsOperationCanceled_FailsItsWaitWithThatException_NotATimeout()
    {
        ConsoleLineWatcher watcher = NewWatcher();
        var cancelled = new OperationCanceledException("the matcher's own cancellation");
        Task<string> wait = watcher.WaitAsync(_ => throw cancelled, "throwing", Long, CancellationToken.None);

        watcher.Observe("line\n"u8);

        Func<Task> act = () => wait;
        (await act.Should().ThrowAsync<OperationCanceledException>()).Which.Should().BeSameAs(cancelled);
    }

    [Fact(Timeout = 60_000)]
    public async Task End_FailsThePendingWaits_WithTheFactorysException_ForEachDescription()
    {
        ConsoleLineWatcher watcher = NewWatcher();
        Task<string> first = watcher.WaitAsync(_ => false, "first", Long, CancellationToken.None);
        Task<string> second = watcher.WaitAsync(_ => false, "second", Long, CancellationToken.None);
        int registeredDuringEnd = -1;

        watcher.End(description =>
        {
            registeredDuringEnd = watcher.WaiterCount;
            return new InvalidOperationException("died: " + description);
        });

        registeredDuringEnd.Should().Be(0, "End takes the waits out before failing them");
        Func<Task> a = () => first;
        Func<Task> b = () => second;
        (await a.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Be("died: first");
        (await b.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Be("died: second");
    }

    [Fact(Timeout = 60_000)]
    public async Task End_ThenAWaitNoLineMatches_ThrowsTheFactorysException_WithItsDescription_AndRegistersNothing()
    {
        ConsoleLineWatcher watcher = NewWatcher();
        watcher.Observe("old line\n"u8);
        watcher.End(description => new InvalidOperationException("died: " + description));

        Func<Task> act = () => watcher.WaitAsync(_ => false, "late wait", Long, CancellationToken.None);

        (await act.Should().ThrowExactlyAsync<InvalidOperationException>()).Which.Message.Should().Be("died: late wait");
        watcher.WaiterCount.Should().Be(0);
    }

    [Fact(Timeout = 60_000)]
    public async Task End_ThenAWaitAHistoryLineMatches_ReturnsTheLine()
    {
        ConsoleLineWatcher watcher = NewWatcher();
        watcher.Observe("kernel panic\n"u8);
        watcher.End(description => new InvalidOperationException("died: " + description));

        (await watcher.WaitAsync(l => l.Contains("panic", StringComparison.Ordinal), "panic", Long, CancellationToken.None))
            .Should().Be("kernel panic");
    }

    [Fact(Timeout = 60_000)]
    public async Task End_ASecondTime_IsIgnored_ItsFactoryIsNeverUsed()
    {
        ConsoleLineWatcher watcher = NewWatcher();
        int secondCalls = 0;
        watcher.End(description => new InvalidOperationException("first end: " + description));
        watcher.End(description =>
        {
            secondCalls++;
            return new ArgumentException("second end: " + description);
        });

        Func<Task> act = () => watcher.WaitAsync(_ => false, "wait", Long, CancellationToken.None);

        (await act.Should().ThrowExactlyAsync<InvalidOperationException>()).Which.Message.Should().Be("first end: wait");
        secondCalls.Should().Be(0);
    }
}
