using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace Virtualization.Cli;

/// <summary>The standard <c>--help</c> output followed by <see cref="HelpNotes"/> for the command asked about.</summary>
internal sealed class HelpWithNotesAction : SynchronousCommandLineAction
{
    private readonly HelpAction _help;

    /// <summary>Wraps the standard help action.</summary>
    public HelpWithNotesAction(HelpAction help) => _help = help;

    /// <inheritdoc/>
    public override int Invoke(ParseResult parseResult)
    {
        ArgumentNullException.ThrowIfNull(parseResult);
        int code = _help.Invoke(parseResult);
        parseResult.InvocationConfiguration.Output.WriteLine(HelpNotes.For(parseResult.CommandResult.Command.Name));
        return code;
    }
}
