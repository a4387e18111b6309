using System.Text;

namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>
/// A <see cref="TextWriter"/> for a command's stdout or stderr that keeps the text (thread-safe) and lets a test wait
/// for a marker to appear in it, instead of polling.
/// </summary>
internal sealed class ObservedWriter : TextWriter
{
    private readonly StringBuilder _text = new();
    private readonly TextMarkers _markers = new();

    public override Encoding Encoding => Encoding.UTF8;

    /// <summary>Completes when <paramref name="marker"/> has been written.</summary>
    public Task WaitForAsync(string marker)
    {
        lock (_text)
        {
            return _markers.WaitFor(_text.ToString(), marker);
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
            _markers.Check(_text.ToString());
        }
    }
}
