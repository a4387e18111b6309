namespace Virtualization.Core.Vmm;

/// <summary>Keeps the last lines written by a process (bounded in lines and characters) for error messages.</summary>
internal sealed class OutputTail
{
    private const int MaxLineLength = 512;
    private readonly Queue<string> _lines = new();
    private readonly int _maxLines;

    /// <summary>Creates a tail of at most <paramref name="maxLines"/> lines.</summary>
    internal OutputTail(int maxLines = 20) => _maxLines = maxLines;

    /// <summary>Adds a line, dropping the oldest past the limit; long lines are cut.</summary>
    internal void Add(string line)
    {
        if (line.Length > MaxLineLength)
        {
            line = string.Concat(line.AsSpan(0, MaxLineLength), "…");
        }

        lock (_lines)
        {
            _lines.Enqueue(line);
            while (_lines.Count > _maxLines)
            {
                _lines.Dequeue();
            }
        }
    }

    /// <summary>The kept lines, joined with newlines.</summary>
    public override string ToString()
    {
        lock (_lines)
        {
            return string.Join('\n', _lines);
        }
    }
}
