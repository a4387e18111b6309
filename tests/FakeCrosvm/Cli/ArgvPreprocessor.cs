namespace FakeCrosvm.Cli;

/// <summary>
/// The rewriting crosvm does before argh sees argv: any element that starts with <c>-</c>, is longer than
/// one character and contains <c>=</c> is split at the first <c>=</c>; <c>-h</c> becomes <c>--help</c>.
/// </summary>
internal static class ArgvPreprocessor
{
    public static string[] Prepare(IReadOnlyList<string> args)
    {
        var result = new List<string>(args.Count + 4);
        foreach (string arg in args)
        {
            if (arg == "-h")
            {
                result.Add("--help");
                continue;
            }

            int equals = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.Length > 1 && arg[0] == '-' && equals > 0)
            {
                result.Add(arg[..equals]);
                result.Add(arg[(equals + 1)..]);
                continue;
            }

            result.Add(arg);
        }

        return [.. result];
    }
}
