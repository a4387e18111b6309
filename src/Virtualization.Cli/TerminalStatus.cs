namespace Virtualization.Cli;

/// <summary>
/// The one-line status <c>vm run</c> keeps on a terminal while it waits (<c>vm: 0:05 STARTED, CID 10 (Ctrl+C stops
/// the VM)</c>), redrawn in place with <c>\r</c> and erase-to-end-of-line. Every other write to the terminal goes
/// through a <see cref="StatusAwareWriter"/>, which erases the status first; the status is drawn only when the cursor is
/// at the start of a line, so it never overwrites a partial line of guest output (a shell prompt, say). Used only when
/// stderr is a terminal: redirected output gets nothing extra.
/// </summary>
internal sealed class TerminalStatus
{
    private readonly TextWriter _terminal;
    private bool _shown;
    private bool _atLineStart = true;

    /// <summary>Creates the status over <paramref name="terminal"/> (the raw stderr writer).</summary>
    public TerminalStatus(TextWriter terminal) => _terminal = terminal;

    /// <summary>Held for every write to the terminal, and while the status is drawn.</summary>
    public Lock Gate { get; } = new();

    /// <summary>Draws <paramref name="text"/> in place of the previous status, unless the cursor is mid-line.</summary>
    public void Show(string text)
    {
        lock (Gate)
        {
            if (!_atLineStart)
            {
                return;
            }

            _terminal.Write("\r" + text + "\e[K");
            _terminal.Flush();
            _shown = true;
        }
    }

    /// <summary>Erases the status, if it is shown. Callers hold <see cref="Gate"/> or accept a race with <see cref="Show"/>.</summary>
    public void Clear()
    {
        lock (Gate)
        {
            if (_shown)
            {
                _terminal.Write("\r\e[K");
                _terminal.Flush();
                _shown = false;
            }
        }
    }

    /// <summary>Records what was last written to the terminal (by a <see cref="StatusAwareWriter"/>, under <see cref="Gate"/>).</summary>
    public void Wrote(char last) => _atLineStart = last == '\n';
}
