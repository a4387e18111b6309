namespace Virtualization.Core.Vmm;

/// <summary>
/// Puts util-linux's <c>setpriv --pdeathsig KILL</c> and <c>setsid</c> in front of a VMM's argv. Both exec in place
/// (same pid): the VMM gets its own session and process group, and dies when the thread that forked it (the
/// <see cref="SpawnThread"/>, which lives as long as the host) dies.
/// </summary>
internal static class ProcessWrapper
{
    private static readonly string? s_setpriv = Find("setpriv");
    private static readonly string? s_setsid = Find("setsid");

    /// <summary>Whether the VMM will die with its host (setpriv is available).</summary>
    internal static bool HasParentDeathSignal => s_setpriv is not null;

    /// <summary>The full argv (without argv[0]) and the <paramref name="program"/> to exec.</summary>
    internal static List<string> Wrap(string executable, IReadOnlyList<string> arguments, out string program)
    {
        var command = new List<string>(arguments.Count + 7);
        if (s_setpriv is not null)
        {
            command.AddRange([s_setpriv, "--pdeathsig", "KILL", "--"]);
        }

        if (s_setsid is not null)
        {
            command.AddRange([s_setsid, "--"]);
        }

        command.Add(executable);
        command.AddRange(arguments);
        program = command[0];
        command.RemoveAt(0);
        return command;
    }

    private static string? Find(string name) =>
        ExecutableResolver.TryResolve(name, out string? path) ? path : null;
}
