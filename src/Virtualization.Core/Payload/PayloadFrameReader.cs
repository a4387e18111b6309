namespace Virtualization.Core.Payload;

/// <summary>
/// Reads frames from a stream with one fixed buffer of <see cref="PayloadWire.MaxFrameSize"/> bytes. It reads exactly a
/// header, then exactly the body it announces, so it never consumes a byte past the current frame (a vsock stdio
/// connection turns into raw bytes right after its hello). An oversize header stops the reader without reading its body.
/// </summary>
internal sealed class PayloadFrameReader
{
    private readonly Stream _stream;
    private readonly byte[] _buffer = new byte[PayloadWire.MaxFrameSize];

    public PayloadFrameReader(Stream stream) => _stream = stream;

    /// <summary>Bytes consumed so far (for log messages).</summary>
    public long Position { get; private set; }

    /// <summary>The body length announced by the last oversize header.</summary>
    public int AnnouncedLength { get; private set; }

    /// <summary>Reads the next frame.</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The status and, for <see cref="PayloadReadStatus.Frame"/>, the frame (valid until the next call).</returns>
    /// <exception cref="IOException">The stream failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    public async ValueTask<(PayloadReadStatus Status, PayloadFrame Frame)> ReadAsync(CancellationToken cancellationToken)
    {
        int got = await _stream.ReadAtLeastAsync(_buffer.AsMemory(0, PayloadWire.HeaderSize), PayloadWire.HeaderSize, throwOnEndOfStream: false, cancellationToken)
            .ConfigureAwait(false);
        Position += got;
        if (got == 0)
        {
            return (PayloadReadStatus.EndOfStream, default);
        }

        if (got < PayloadWire.HeaderSize)
        {
            return (PayloadReadStatus.Truncated, default);
        }

        (byte type, byte flags, int length) = PayloadWire.ReadHeader(_buffer);
        if (length > PayloadWire.MaxBodySize)
        {
            AnnouncedLength = length;
            return (PayloadReadStatus.Oversize, default);
        }

        Memory<byte> body = _buffer.AsMemory(PayloadWire.HeaderSize, length);
        if (length > 0)
        {
            got = await _stream.ReadAtLeastAsync(body, length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            Position += got;
            if (got < length)
            {
                return (PayloadReadStatus.Truncated, default);
            }
        }

        return (PayloadReadStatus.Frame, new PayloadFrame(type, flags, body));
    }
}
