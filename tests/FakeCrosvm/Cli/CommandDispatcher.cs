using FakeCrosvm.Vm;

namespace FakeCrosvm.Cli;

/// <summary>Top-level argv handling: scenario recording, top-level options, subcommand dispatch and error reporting.</summary>
internal static class CommandDispatcher
{
    public static int Run(string[] rawArgs)
    {
        try
        {
            Scenario scenario = LoadScenario(rawArgs);
            string[] args = ArgvPreprocessor.Prepare(rawArgs);
            var options = new RunOptions();
            int index = ParseTopLevel(args, options, out string? logLevel);
            if (index < 0)
            {
                Console.Out.WriteLine(Usage.TopLevel);
                return ExitCodes.Success;
            }

            Log.Configure(logLevel);
            string[] rest = args[(index + 1)..];
            return args[index] switch
            {
                "run" => RunVm(rest, options, scenario),
                "stop" or "suspend" or "resume" or "balloon" or "balloon_stats" => ControlCommand.Run(args[index], rest),
                "version" => Version(rest),
                string other => throw new InvalidArgsException($"Unrecognized argument: {other}"),
            };
        }
        catch (InvalidArgsException e)
        {
            Console.Error.WriteLine($"arg parsing failed: {e.Message}");
            return ExitCodes.InvalidArgs;
        }
        catch (CommandFailedException e)
        {
            Log.Error($"exiting with error 1: {e.Message}");
            return ExitCodes.Error;
        }
    }

    /// <summary>
    /// KERNEL must be the last element, so the scenario is read from there (or, failing that, from the <c>--bios</c>
    /// file) before anything else, and argv is recorded before it is even validated.
    /// </summary>
    private static Scenario LoadScenario(string[] rawArgs)
    {
        if (rawArgs.Length == 0 || !rawArgs.Contains("run"))
        {
            return Scenario.Default;
        }

        Scenario? scenario = ScenarioFile.TryLoad(rawArgs[^1]) ?? TryLoadFromBios(rawArgs);
        if (scenario?.Record is string record)
        {
            ArgvRecorder.Write(record, rawArgs);
        }

        return scenario ?? Scenario.Default;
    }

    /// <summary>A VM booted from <c>--bios</c> has no KERNEL, and the BIOS need not be last: look for its value.</summary>
    private static Scenario? TryLoadFromBios(string[] rawArgs)
    {
        for (int i = 0; i < rawArgs.Length; i++)
        {
            if (rawArgs[i] == "--bios" && i + 1 < rawArgs.Length)
            {
                return ScenarioFile.TryLoad(rawArgs[i + 1]);
            }

            if (rawArgs[i].StartsWith("--bios=", StringComparison.Ordinal))
            {
                return ScenarioFile.TryLoad(rawArgs[i]["--bios=".Length..]);
            }
        }

        return null;
    }

    /// <summary>Parses the options before the subcommand. Returns the subcommand's index, or -1 for help.</summary>
    private static int ParseTopLevel(string[] args, RunOptions options, out string? logLevel)
    {
        logLevel = null;
        string? syslogTag = null;
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            switch (arg)
            {
                case "--extended-status":
                    options.ExtendedStatus = true;
                    break;
                case "--no-syslog":
                    break;
                case "--log-level":
                    logLevel = TakeValue(args, ref i, logLevel);
                    break;
                case "--syslog-tag":
                    syslogTag = TakeValue(args, ref i, syslogTag);
                    break;
                case "--help":
                case "help":
                    return -1;
                default:
                    if (arg.Length > 1 && arg[0] == '-')
                    {
                        throw new InvalidArgsException($"Unrecognized argument: {arg}");
                    }

                    return i;
            }
        }

        throw new InvalidArgsException("One of the following subcommands must be present:\n    balloon\n    balloon_stats\n    help\n    resume\n    run\n    stop\n    suspend\n    version");
    }

    private static string TakeValue(string[] args, ref int i, string? previous)
    {
        if (i + 1 >= args.Length)
        {
            throw new InvalidArgsException($"No value provided for option '{args[i]}'.");
        }

        if (previous is not null)
        {
            throw new InvalidArgsException("duplicate values provided");
        }

        i++;
        return args[i];
    }

    private static int RunVm(string[] args, RunOptions options, Scenario scenario)
    {
        if (!RunArgumentParser.Parse(args, options))
        {
            return ExitCodes.Success;
        }

        if (scenario.Parsed is string parsed)
        {
            ParsedRecorder.Write(parsed, options);
        }

        using VmPlan plan = RunValidator.Validate(options);
        return new FakeVm(plan, scenario).Run();
    }

    private static int Version(string[] rest)
    {
        if (rest.Length > 0)
        {
            if (rest[0] is "--help" or "help")
            {
                Console.Out.WriteLine("Usage: crosvm version\n\nShow package version.");
                return ExitCodes.Success;
            }

            throw new InvalidArgsException($"Unrecognized argument: {rest[0]}");
        }

        Console.Out.WriteLine("crosvm 0.1.0");
        return ExitCodes.Success;
    }
}
