using Virtualization.Core.Tests.Infrastructure;
using Virtualization.Core.Payload;

namespace Virtualization.Core.Tests.Payload;

/// <summary>Byte sequences for channel tests.</summary>
internal static class PayloadTestStreams
{
    public static byte[] Concat(params byte[][] parts) => [.. parts.SelectMany(p => p)];

    public static byte[] ControlHello => PayloadWire.Hello(PayloadChannelKind.Control);

    /// <summary>A stream that fails every read with <paramref name="exception"/>.</summary>
    public static Stream Failing(Exception exception) => new FailingStream(exception);

    private sealed class FailingStream(Exception exception) : ReadOnlyStream
    {
        public override int Read(byte[] buffer, int offset, int count) => throw exception;

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromException<int>(exception);
    }
}
