using System.Text;

namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>A console sink that keeps the text and lets a test wait for a marker to appear.</summary>
internal sealed class ConsoleCapture : WriteOnlyStream
{
    private readonly StringBuilder _text = new();
    private readonly TextMarkers _markers = new();
    private long _writes;

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

    /// <summary>Completes when <paramref name="marker"/> has been written.</summary>
    public Task WaitForAsync(string marker)
    {
        lock (_text)
        {
            return _markers.WaitFor(_text.ToString(), marker);
        }
    }

    /// <summary>
    /// Waits until no write has arrived for <paramref name="quiet"/> and returns the text then: output already on its
    /// way (in the console socket, in the library's pump) has landed. A guest that keeps printing never gets quiet, so
    /// after <paramref name="bound"/> this throws <see cref="TimeoutException"/>.
    /// </summary>
    public async Task<string> WhenQuietAsync(TimeSpan quiet, TimeSpan bound)
    {
        using var limit = new CancellationTokenSource(bound);
        while (true)
        {
            long seen = Interlocked.Read(ref _writes);
            try
            {
                await Task.Delay(quiet, limit.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"the console never stayed quiet for {quiet.TotalMilliseconds:0} ms within {bound.TotalSeconds:0} s; it ends: {Tail()}");
            }

            if (Interlocked.Read(ref _writes) == seen)
            {
                return Text;
            }
        }
    }

    public override void Write(byte[] buffer, int offset, int count)
    {
        lock (_text)
        {
            Interlocked.Increment(ref _writes);
            _text.Append(Encoding.UTF8.GetString(buffer, offset, count));
            _markers.Check(_text.ToString());
        }
    }

    private string Tail()
    {
        string text = Text;
        return text.Length <= 200 ? text : text[^200..];
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
}
