using System.Text;

namespace Virtualization.Cli;

/// <summary>A write-only stream that decodes UTF-8 and writes the text to a <see cref="TextWriter"/> (the guest console to stdout).</summary>
internal sealed class TextWriterStream : Stream
{
    private readonly TextWriter _writer;
    private readonly Decoder _decoder = new UTF8Encoding(false, false).GetDecoder();
    private readonly Lock _gate = new();
    private char[] _chars = new char[4096];
    private StringBuilder? _held;

    /// <summary>Creates the stream over <paramref name="writer"/>; disposing the stream flushes but does not close the writer.</summary>
    /// <param name="writer">Where the text goes.</param>
    /// <param name="hold">Keep the text back until <see cref="Release"/> (at most <see cref="MaxHeldChars"/> characters), so
    /// that status lines printed meanwhile come first.</param>
    public TextWriterStream(TextWriter writer, bool hold = false)
    {
        _writer = writer;
        _held = hold ? new StringBuilder() : null;
    }

    /// <summary>How much text is held back before it is written anyway.</summary>
    public static int MaxHeldChars => 1 << 20;

    /// <summary>Writes the text held back so far and stops holding.</summary>
    public void Release()
    {
        lock (_gate)
        {
            if (_held is not null)
            {
                _writer.Write(_held.ToString());
                _held = null;
            }
        }
    }

    /// <inheritdoc/>
    public override bool CanRead => false;

    /// <inheritdoc/>
    public override bool CanSeek => false;

    /// <inheritdoc/>
    public override bool CanWrite => true;

    /// <inheritdoc/>
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc/>
    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <inheritdoc/>
    public override void Flush()
    {
        lock (_gate)
        {
            _writer.Flush();
        }
    }

    /// <inheritdoc/>
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc/>
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc/>
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc/>
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <inheritdoc/>
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        lock (_gate)
        {
            int needed = _decoder.GetCharCount(buffer, flush: false);
            if (needed > _chars.Length)
            {
                _chars = new char[needed];
            }

            int count = _decoder.GetChars(buffer, _chars, flush: false);
            if (_held is not null && _held.Length + count <= MaxHeldChars)
            {
                _held.Append(_chars, 0, count);
                return;
            }

            if (_held is not null)
            {
                _writer.Write(_held.ToString());
                _held = null;
            }

            _writer.Write(_chars, 0, count);
        }
    }

    /// <inheritdoc/>
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        Write(buffer.AsSpan(offset, count));
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public override Task FlushAsync(CancellationToken cancellationToken)
    {
        Flush();
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Release();
            Flush();
        }

        base.Dispose(disposing);
    }
}
