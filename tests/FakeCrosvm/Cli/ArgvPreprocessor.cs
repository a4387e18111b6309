namespace FakeCrosvm.Cli;

/// <summary>
/// The rewriting crosvm does before argh sees argv: any element that starts with <c>-</c>, is longer than
/// one character and contains <c>=</c> is split at the first <c>=</c>; <c>-h</c> becomes <c>--help</c> and
/// <c>--host_ip</c> becomes <c>--host-ip</c> (with a deprecation message). Like crosvm's <c>prepare_argh_args</c>, this
/// is one pass over the original elements: the two halves of a split element are never rewritten or split again.
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

            if (arg == "--host_ip")
            {
                Console.Error.WriteLine("`--host_ip` option is deprecated!");
                Console.Error.WriteLine("Please use `--host-ip` instead");
                result.Add("--host-ip");
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
