using System.Text;

namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>A console sink that keeps the text and lets a test wait for a marker to appear.</summary>
internal sealed class ConsoleCapture : Stream
{
    private readonly StringBuilder _text = new();
    private readonly List<(string Marker, TaskCompletionSource Seen)> _waits = [];

    public string Text
    {
        get
        {
            lock (_text)
            {
                return _text.ToString();
            }
        }
    }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <summary>Completes when <paramref name="marker"/> has been written.</summary>
    public Task WaitForAsync(string marker)
    {
        lock (_text)
        {
            if (_text.ToString().Contains(marker, StringComparison.Ordinal))
            {
                return Task.CompletedTask;
            }

            var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waits.Add((marker, seen));
            return seen.Task;
        }
    }

    public override void Write(byte[] buffer, int offset, int count)
    {
        lock (_text)
        {
            _text.Append(Encoding.UTF8.GetString(buffer, offset, count));
            string text = _text.ToString();
            _waits.RemoveAll(w =>
            {
                if (!text.Contains(w.Marker, StringComparison.Ordinal))
                {
                    return false;
                }

                w.Seen.TrySetResult();
                return true;
            });
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        Write(buffer, offset, count);
        return Task.CompletedTask;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.ToArray(), 0, buffer.Length);
        return ValueTask.CompletedTask;
    }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
