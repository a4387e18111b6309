namespace Virtualization.Cli;

/// <summary>Which of the tool's output streams are terminals (the status line of <c>vm run</c> needs one).</summary>
/// <param name="StdoutIsTerminal">stdout is a terminal, not a file or pipe.</param>
/// <param name="StderrIsTerminal">stderr is a terminal, not a file or pipe.</param>
internal sealed record Terminal(bool StdoutIsTerminal, bool StderrIsTerminal);
