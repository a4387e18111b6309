using System.Text;

namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>
/// A <see cref="TextWriter"/> for a command's stdout or stderr that keeps the text (thread-safe) and lets a test wait
/// for a marker to appear in it, instead of polling.
/// </summary>
internal sealed class ObservedWriter : TextWriter
{
    private readonly StringBuilder _text = new();
    private readonly List<(string Marker, TaskCompletionSource Seen)> _waits = [];

    public override Encoding Encoding => Encoding.UTF8;

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

    public override void Write(char value) => Append(value.ToString());

    public override void Write(string? value) => Append(value ?? string.Empty);

    public override void Write(char[] buffer, int index, int count) => Append(new string(buffer, index, count));

    public override void Write(ReadOnlySpan<char> buffer) => Append(new string(buffer));

    public override string ToString()
    {
        lock (_text)
        {
            return _text.ToString();
        }
    }

    private void Append(string value)
    {
        lock (_text)
        {
            _text.Append(value);
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
}
