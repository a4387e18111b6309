namespace Virtualization.Core.Vmm;

/// <summary>Finds an executable the way a shell would: a path as given, a bare name on <c>PATH</c>.</summary>
internal static class ExecutableResolver
{
    /// <summary>The full path of <paramref name="executable"/>.</summary>
    /// <param name="executable">A path, or a name looked up on <c>PATH</c>.</param>
    /// <param name="notFoundHint">Replaces the default advice when it is not found.</param>
    /// <exception cref="VirtualMachineStartException">It is not found or not executable.</exception>
    internal static string Resolve(string executable, string? notFoundHint = null)
    {
        if (TryResolve(executable, out string? path))
        {
            return path;
        }

        string where = executable.Contains('/', StringComparison.Ordinal)
            ? $"'{executable}' does not exist or is not executable"
            : $"'{executable}' was not found on PATH ({Environment.GetEnvironmentVariable("PATH")})";
        throw new VirtualMachineStartException(
            $"Cannot launch the VMM: {where}. {notFoundHint ?? "Install it or point VirtualizationServiceOptions at it."}", null, string.Empty);
    }

    /// <summary>Looks <paramref name="executable"/> up without throwing.</summary>
    internal static bool TryResolve(string executable, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? path)
    {
        if (executable.Contains('/', StringComparison.Ordinal))
        {
            path = Path.GetFullPath(executable);
            return IsExecutable(path);
        }

        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin").Split(':'))
        {
            if (dir.Length == 0)
            {
                continue;
            }

            string candidate = Path.Combine(dir, executable);
            if (IsExecutable(candidate))
            {
                path = candidate;
                return true;
            }
        }

        path = null;
        return false;
    }

    private static bool IsExecutable(string path) =>
        File.Exists(path)
        && (File.GetUnixFileMode(path) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;
}
