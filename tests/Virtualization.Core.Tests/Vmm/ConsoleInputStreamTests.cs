using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Virtualization.Core.Tests.Infrastructure;
using Virtualization.Core.Vmm;

namespace Virtualization.Core.Tests.Vmm;

/// <summary>
/// The write-only stream <see cref="GuestConsole.TakeInput"/> returns, over an AF_UNIX socket pair that stands for the
/// VMM's console socket (no VMM).
/// </summary>
public sealed class ConsoleInputStreamTests : IDisposable
{
    private readonly UnixSocketPair _pair = UnixSocketPair.Create();
    private readonly GuestConsole _console = new(null, NullLogger.Instance, NullLogger.Instance, 7);
    private readonly Stream _input;

    public ConsoleInputStreamTests()
    {
        _console.Connect(_pair.Local);
        _input = _console.TakeInput()!;
    }

    public void Dispose()
    {
        _input.Dispose();
        _pair.Dispose();
    }

    [Fact(Timeout = 60_000)]
    public async Task EveryWriteMethod_ReachesTheOtherEnd_InOrder_AndDisposeEndsTheInput()
    {
        Task<byte[]> received = _pair.ReadRemoteToEndAsync();

        await Task.Run(() =>
        {
            _input.Write(Encoding.ASCII.GetBytes("..one.."), 2, 3);
            _input.Write("two"u8);
        });
#pragma warning disable CA1835 // The array overload is under test.
        await _input.WriteAsync(Encoding.ASCII.GetBytes("xthree"), 1, 5, CancellationToken.None);
#pragma warning restore CA1835
        await _input.WriteAsync("four"u8.ToArray().AsMemory());
        await _input.WriteAsync(Encoding.ASCII.GetBytes("five"));
        await _input.FlushAsync();
        _input.Flush();
        _input.Dispose();

        Encoding.ASCII.GetString(await received).Should().Be("onetwothreefourfive", "the end-of-file came after every byte");
    }

    [Fact(Timeout = 60_000)]
    public async Task AMegabyte_ArrivesWhole()
    {
        byte[] payload = new byte[1 << 20];
        for (int i = 0; i < payload.Length; i++)
        {
            payload[i] = (byte)(i * 31 % 251);
        }

        Task<byte[]> received = _pair.ReadRemoteToEndAsync();
        await _input.WriteAsync(payload);
        await _input.DisposeAsync();

        (await received).Should().Equal(payload);
    }

    [Fact]
    public void Capabilities_WriteOnlyUntilDisposed()
    {
        _input.CanRead.Should().BeFalse();
        _input.CanSeek.Should().BeFalse();
        _input.CanWrite.Should().BeTrue();

        _input.Dispose();

        _input.CanWrite.Should().BeFalse();
        _input.CanRead.Should().BeFalse();
        _input.CanSeek.Should().BeFalse();
    }

    [Fact]
    public void ReadingAndSeeking_AreNotSupported()
    {
        _input.Invoking(s => s.Read(new byte[1], 0, 1)).Should().Throw<NotSupportedException>();
        _input.Invoking(s => s.Seek(0, SeekOrigin.Begin)).Should().Throw<NotSupportedException>();
        _input.Invoking(s => s.SetLength(0)).Should().Throw<NotSupportedException>();
        _input.Invoking(s => s.Length).Should().Throw<NotSupportedException>();
        _input.Invoking(s => s.Position).Should().Throw<NotSupportedException>();
        _input.Invoking(s => s.Position = 0).Should().Throw<NotSupportedException>();
    }

    [Fact(Timeout = 60_000)]
    public async Task BadBufferArguments_Throw_AndNothingIsSent()
    {
        byte[] four = new byte[4];

        _input.Invoking(s => s.Write(null!, 0, 0)).Should().Throw<ArgumentNullException>();
        _input.Invoking(s => s.Write(four, -1, 1)).Should().Throw<ArgumentOutOfRangeException>();
        _input.Invoking(s => s.Write(four, 0, -1)).Should().Throw<ArgumentOutOfRangeException>();
        _input.Invoking(s => s.Write(four, 2, 3)).Should().Throw<ArgumentException>();
        await _input.Awaiting(s => s.WriteAsync(null!, 0, 0, CancellationToken.None)).Should().ThrowAsync<ArgumentNullException>();
        await _input.Awaiting(s => s.WriteAsync(four, -1, 1, CancellationToken.None)).Should().ThrowAsync<ArgumentOutOfRangeException>();
        await _input.Awaiting(s => s.WriteAsync(four, 3, 2, CancellationToken.None)).Should().ThrowAsync<ArgumentException>();

        Task<byte[]> received = _pair.ReadRemoteToEndAsync();
        _input.Dispose();
        (await received).Should().BeEmpty();
    }

    [Fact(Timeout = 60_000)]
    public async Task WritesAfterDispose_ThrowObjectDisposed()
    {
        _input.Dispose();

        _input.Invoking(s => s.Write(new byte[1], 0, 1)).Should().Throw<ObjectDisposedException>();
        _input.Invoking(s => s.Write(new byte[1].AsSpan())).Should().Throw<ObjectDisposedException>();
        await _input.Awaiting(s => s.WriteAsync(new byte[1], 0, 1, CancellationToken.None)).Should().ThrowAsync<ObjectDisposedException>();
        await _input.Awaiting(s => s.WriteAsync(new byte[1].AsMemory(), CancellationToken.None).AsTask()).Should().ThrowAsync<ObjectDisposedException>();
    }

    [Fact(Timeout = 60_000)]
    public async Task DisposeTwice_EndsTheInputOnce_AndDoesNotThrow()
    {
        Task<byte[]> received = _pair.ReadRemoteToEndAsync();

        _input.Dispose();
        _input.Dispose();

        (await received).Should().BeEmpty();
    }

    [Fact]
    public void Dispose_ShutsDownTheSendingSide_Only()
    {
        _input.Dispose();

        _pair.Remote.Poll(0, SelectMode.SelectRead).Should().BeTrue("the VMM's end sees end-of-file");
        _pair.Remote.Receive(new byte[1]).Should().Be(0);
        _pair.Remote.Send("still open"u8).Should().Be(10, "the VMM's console output still flows");
        byte[] back = new byte[10];
        _pair.Local.Receive(back).Should().Be(10);
    }
}
