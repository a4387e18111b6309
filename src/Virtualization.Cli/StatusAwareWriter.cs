using System.Text;

namespace Virtualization.Cli;

/// <summary>A writer to the terminal that erases the <see cref="TerminalStatus"/> line before it writes.</summary>
internal sealed class StatusAwareWriter : TextWriter
{
    private readonly TextWriter _inner;
    private readonly TerminalStatus _status;

    /// <summary>Creates the writer.</summary>
    /// <param name="inner">The terminal stream's writer.</param>
    /// <param name="status">The status line sharing the terminal.</param>
    public StatusAwareWriter(TextWriter inner, TerminalStatus status)
    {
        _inner = inner;
        _status = status;
    }

    /// <inheritdoc/>
    public override Encoding Encoding => _inner.Encoding;

    /// <inheritdoc/>
    public override void Write(char value) => Write(value.ToString());

    /// <inheritdoc/>
    public override void Write(char[] buffer, int index, int count) => Write(new string(buffer, index, count));

    /// <inheritdoc/>
    public override void Write(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return;
        }

        lock (_status.Gate)
        {
            _status.Clear();
            _inner.Write(value);
            _inner.Flush();
            _status.Wrote(value[^1]);
        }
    }

    /// <inheritdoc/>
    public override void WriteLine(string? value) => Write(value + NewLine);

    /// <inheritdoc/>
    public override void WriteLine() => Write(NewLine);

    /// <inheritdoc/>
    public override Task WriteAsync(string? value)
    {
        Write(value);
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public override Task WriteLineAsync(string? value)
    {
        WriteLine(value);
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public override void Flush() => _inner.Flush();

    /// <inheritdoc/>
    public override Task FlushAsync() => _inner.FlushAsync();
}
