using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Virtualization.Core.Tests.Drive;
using Virtualization.Core.Tests.Infrastructure;
using Virtualization.Core.Tests.Payload;
using Virtualization.Core.Vmm;

namespace Virtualization.Core.Tests.Vmm;

/// <summary>
/// The host end of a guest console: taking its input once, writes and their failures once the VMM is gone, ending the
/// input, and copying a source into it. An AF_UNIX socket pair stands for the VMM's console socket (no VMM).
/// </summary>
public sealed class GuestConsoleTests : IDisposable
{
    private const string GoneMessage = "The VMM of CID 7 has exited; the guest console takes no more input.";

    private readonly UnixSocketPair _pair = UnixSocketPair.Create();
    private readonly ListLogger _log = new();
    private readonly GuestConsole _console;

    public GuestConsoleTests() => _console = new GuestConsole(null, _log, NullLogger.Instance, 7);

    public void Dispose()
    {
        _pair.Dispose();
        _log.Dispose();
    }

    [Fact]
    public void Construction_KeepsTheOutput_AndHasALineWatcher()
    {
        using var output = new MemoryStream();
        var console = new GuestConsole(output, NullLogger.Instance, NullLogger.Instance, 3);

        console.Output.Should().BeSameAs(output);
        console.Lines.Should().NotBeNull();
        _console.Output.Should().BeNull();
    }

    [Fact]
    public void TakeInput_OnlyOnce()
    {
        _console.InputTaken.Should().BeFalse();

        using Stream? first = _console.TakeInput();

        first.Should().BeOfType<ConsoleInputStream>();
        _console.InputTaken.Should().BeTrue();
        _console.TakeInput().Should().BeNull();
        _console.InputTaken.Should().BeTrue();
    }

    [Fact(Timeout = 60_000)]
    public async Task Write_BeforeConnect_ThrowsIOException_NamingTheCid()
    {
        (await Task.Run(() => _console.Invoking(c => c.Write("x"u8)).Should().Throw<IOException>()))
            .Which.Should().Match<IOException>(e => e.Message == GoneMessage && e.InnerException == null);
        (await _console.Awaiting(c => c.WriteAsync("x"u8.ToArray(), CancellationToken.None).AsTask()).Should().ThrowExactlyAsync<IOException>())
            .Which.Should().Match<IOException>(e => e.Message == GoneMessage && e.InnerException == null);
    }

    [Fact(Timeout = 60_000)]
    public async Task Write_AfterDisconnect_ThrowsIOException_NamingTheCid_AndSendsNothing()
    {
        _console.Connect(_pair.Local);
        _console.Disconnect();

        IOException sync = (await Task.Run(() => _console.Invoking(c => c.Write("x"u8)).Should().ThrowExactly<IOException>())).Which;
        IOException async = (await _console.Awaiting(c => c.WriteAsync("x"u8.ToArray(), CancellationToken.None).AsTask())
            .Should().ThrowExactlyAsync<IOException>()).Which;

        sync.Message.Should().Be(GoneMessage);
        sync.InnerException.Should().BeAssignableTo<OperationCanceledException>();
        async.Message.Should().Be(GoneMessage);
        async.InnerException.Should().BeAssignableTo<OperationCanceledException>();
        _pair.Remote.Poll(0, SelectMode.SelectRead).Should().BeFalse("nothing was sent, and the input was not ended");
    }

    [Fact(Timeout = 60_000)]
    public async Task Write_AfterThePeerClosed_ThrowsIOException_WithTheSocketError()
    {
        _console.Connect(_pair.Local);
        _pair.Remote.Dispose();

        IOException sync = (await Task.Run(() => _console.Invoking(c => c.Write("x"u8)).Should().ThrowExactly<IOException>())).Which;
        IOException async = (await _console.Awaiting(c => c.WriteAsync("x"u8.ToArray(), CancellationToken.None).AsTask())
            .Should().ThrowExactlyAsync<IOException>()).Which;

        sync.Message.Should().Be(GoneMessage);
        sync.InnerException.Should().BeOfType<SocketException>();
        async.Message.Should().Be(GoneMessage);
        async.InnerException.Should().BeOfType<SocketException>();
    }

    [Fact(Timeout = 60_000)]
    public async Task Write_AfterTheSocketWasDisposed_ThrowsIOException()
    {
        _console.Connect(_pair.Local);
        _pair.Local.Dispose();

        IOException sync = (await Task.Run(() => _console.Invoking(c => c.Write("x"u8)).Should().ThrowExactly<IOException>())).Which;
        IOException async = (await _console.Awaiting(c => c.WriteAsync("x"u8.ToArray(), CancellationToken.None).AsTask())
            .Should().ThrowExactlyAsync<IOException>()).Which;

        sync.Message.Should().Be(GoneMessage);
        sync.InnerException.Should().BeOfType<ObjectDisposedException>();
        async.Message.Should().Be(GoneMessage);
        async.InnerException.Should().BeOfType<ObjectDisposedException>();
    }

    [Fact(Timeout = 60_000)]
    public async Task WriteAsync_CallersTokenCancelled_ThrowsOperationCanceled_EvenOnceTheVmmIsGone()
    {
        _console.Connect(_pair.Local);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await _console.Awaiting(c => c.WriteAsync("x"u8.ToArray(), cancelled.Token).AsTask()).Should().ThrowAsync<OperationCanceledException>();
        _console.Disconnect();
        await _console.Awaiting(c => c.WriteAsync("x"u8.ToArray(), cancelled.Token).AsTask()).Should().ThrowAsync<OperationCanceledException>();
        _pair.Remote.Poll(0, SelectMode.SelectRead).Should().BeFalse("nothing was sent");
    }

    [Fact(Timeout = 60_000)]
    public async Task Writes_OneAfterAnother_AllArrive()
    {
        _console.Connect(_pair.Local);
        Task<byte[]> received = _pair.ReadRemoteToEndAsync();

        await Task.Run(() => _console.Write("ab"u8));
        await _console.WriteAsync("cd"u8.ToArray(), CancellationToken.None);
        await Task.Run(() => _console.Write("ef"u8));
        await _console.WriteAsync("gh"u8.ToArray(), CancellationToken.None);
        _console.EndInput();

        (await received).Should().Equal("abcdefgh"u8.ToArray());
    }

    [Fact]
    public void EndInput_AfterDisconnect_LeavesTheSocketAlone()
    {
        _console.Connect(_pair.Local);
        _console.Disconnect();

        _console.EndInput();

        _pair.Remote.Poll(0, SelectMode.SelectRead).Should().BeFalse("no end-of-file was sent");
    }

    [Fact]
    public void EndInput_SendsEndOfFile()
    {
        _console.Connect(_pair.Local);

        _console.EndInput();

        _pair.Remote.Poll(0, SelectMode.SelectRead).Should().BeTrue();
        _pair.Remote.Receive(new byte[1]).Should().Be(0);
    }

    [Fact]
    public void EndInput_NotConnected_OrSocketDisposed_DoesNotThrow()
    {
        _console.Invoking(c => c.EndInput()).Should().NotThrow();
        _console.Connect(_pair.Local);
        _pair.Local.Dispose();
        _console.Invoking(c => c.EndInput()).Should().NotThrow();
    }

    [Fact]
    public void Disconnect_Twice_DoesNotThrow()
    {
        _console.Disconnect();
        _console.Invoking(c => c.Disconnect()).Should().NotThrow();
    }

    [Fact(Timeout = 60_000)]
    public async Task CopyFromAsync_CopiesTheSourceToItsEnd_ThenEndsTheInput()
    {
        _console.Connect(_pair.Local);
        byte[] payload = new byte[10_000]; // more than one 4 KiB read
        for (int i = 0; i < payload.Length; i++)
        {
            payload[i] = (byte)(i * 7 % 253);
        }

        Task<byte[]> received = _pair.ReadRemoteToEndAsync();
        Stream input = _console.TakeInput()!;

        await _console.CopyFromAsync(new MemoryStream(payload), input, CancellationToken.None);

        (await received).Should().Equal(payload);
        input.CanWrite.Should().BeFalse("the input was disposed");
    }

    [Fact(Timeout = 60_000)]
    public async Task CopyFromAsync_VmmExitsWhileTheSourceStalls_ReturnsQuietly()
    {
        _console.Connect(_pair.Local);
        var source = new StalledSource();
        Stream input = _console.TakeInput()!;
        Task copy = _console.CopyFromAsync(source, input, CancellationToken.None);
        await source.FirstRead;

        _console.Disconnect();

        await copy; // no exception
        input.CanWrite.Should().BeFalse();
        _log.Entries.Should().BeEmpty();
    }

    [Fact(Timeout = 60_000)]
    public async Task CopyFromAsync_VmmExitsWhileDataIsAtHand_ReturnsQuietly()
    {
        // The read that returns data is the one during which the VMM exits: the write of that data finds it gone.
        _console.Connect(_pair.Local);
        Stream input = _console.TakeInput()!;
        var source = new DisconnectingSource(_console);

        await _console.CopyFromAsync(source, input, CancellationToken.None); // no exception

        source.Reads.Should().Be(1, "nothing is read once the VMM is gone");
        input.CanWrite.Should().BeFalse();
        _log.Entries.Should().BeEmpty();
    }

    [Fact(Timeout = 60_000)]
    public async Task CopyFromAsync_CallerCancelsWhileTheSourceStalls_ThrowsOperationCanceled_AndEndsTheInput()
    {
        _console.Connect(_pair.Local);
        var source = new StalledSource();
        using var cancel = new CancellationTokenSource();
        Task copy = _console.CopyFromAsync(source, _console.TakeInput()!, cancel.Token);
        await source.FirstRead;

        await cancel.CancelAsync();

        await copy.Awaiting(t => t).Should().ThrowAsync<OperationCanceledException>();
        _pair.Remote.Receive(new byte[1]).Should().Be(0, "the input was ended");
        _log.Entries.Should().BeEmpty();
    }

    [Fact(Timeout = 60_000)]
    public async Task CopyFromAsync_CallerCancelledAndVmmGone_ThrowsOperationCanceled()
    {
        _console.Connect(_pair.Local);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        _console.Disconnect();

        await _console.Awaiting(c => c.CopyFromAsync(new StalledSource(), c.TakeInput()!, cancelled.Token))
            .Should().ThrowAsync<OperationCanceledException>();
    }

    [Fact(Timeout = 60_000)]
    public async Task CopyFromAsync_SourceThrows_ThrowsThatException_LogsIt_AndEndsTheInput()
    {
        _console.Connect(_pair.Local);
        var broken = new IOException("stdin broke");

        (await _console.Awaiting(c => c.CopyFromAsync(PayloadTestStreams.Failing(broken), c.TakeInput()!, CancellationToken.None))
            .Should().ThrowAsync<IOException>()).Which.Should().BeSameAs(broken);

        _log.Entries.Should().ContainSingle().Which.Should().Match<(LogLevel Level, string Message, Exception? Exception, string? Scope)>(e =>
            e.Level == LogLevel.Warning
            && e.Message == "Console input failed: its source stream threw; the guest console input was ended"
            && e.Exception == broken);
        _pair.Remote.Receive(new byte[1]).Should().Be(0, "the input was ended");
    }

    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task CopyFromAsync_AnAbandonedReadThatFailsLater_IsObserved(bool callerCancels)
    {
        using var unobserved = new UnobservedExceptions();
        _console.Connect(_pair.Local);

        LateFailingSource source = await CopyUntilAbandonedAsync(callerCancels);
        FailAndForget(source);
        UnobservedExceptions.Flush();

        unobserved.Matching<AbandonedReadException>().Should().BeEmpty("the copy observes the failure of a read it abandoned");
    }

    /// <summary>
    /// Starts a copy from a source whose read stays pending, ends it (VMM gone or caller cancelled) and returns the
    /// source. A method of its own, so that nothing of the copy (its task, its exception) stays reachable from the test.
    /// </summary>
    private async Task<LateFailingSource> CopyUntilAbandonedAsync(bool callerCancels)
    {
        var source = new LateFailingSource();
        using var cancel = new CancellationTokenSource();
        Task copy = _console.CopyFromAsync(source, _console.TakeInput()!, cancel.Token);
        await source.FirstRead;
        if (callerCancels)
        {
            await cancel.CancelAsync();
            await copy.Awaiting(t => t).Should().ThrowAsync<OperationCanceledException>();
        }
        else
        {
            _console.Disconnect();
            await copy;
        }

        return source;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void FailAndForget(LateFailingSource source) => source.Fail(new AbandonedReadException());

    /// <summary>A source whose read disconnects the console (the VMM exits) and then returns three bytes.</summary>
    private sealed class DisconnectingSource(GuestConsole console) : ReadOnlyStream
    {
        public int Reads { get; private set; }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("async only");

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Reads++;
            console.Disconnect();
            "abc"u8.CopyTo(buffer.Span);
            return ValueTask.FromResult(3);
        }
    }

    /// <summary>A source whose first read completes only when the test fails it, after the copy abandoned it.</summary>
    private sealed class LateFailingSource : ReadOnlyStream
    {
        private readonly TaskCompletionSource _firstRead = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private TaskCompletionSource<int>? _read = new();

        public Task FirstRead => _firstRead.Task;

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("async only");

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            _firstRead.TrySetResult();
            return new ValueTask<int>(_read!.Task);
        }

        /// <summary>Fails the pending read and lets go of it.</summary>
        public void Fail(Exception e)
        {
            _read!.SetException(e);
            _read = null;
        }
    }

    /// <summary>The failure of an abandoned read: looked for among unobserved task exceptions.</summary>
    private sealed class AbandonedReadException : Exception
    {
        public AbandonedReadException()
            : base("the abandoned read failed")
        {
        }

        public AbandonedReadException(string message)
            : base(message)
        {
        }

        public AbandonedReadException(string message, Exception innerException)
            : base(message, innerException)
        {
        }
    }
}
