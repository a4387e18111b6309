using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Runtime.InteropServices;
using Virtualization.Core;

namespace Virtualization.Cli;

/// <summary>The <c>vm</c> tool: run VMs from Android-style JSON configs, inspect the host, build disk images.</summary>
internal static class Program
{
    /// <summary>Process entry: wires SIGINT/SIGTERM (first: graceful stop; second: kill) to <see cref="RunAsync(string[], TextWriter, TextWriter, CancellationToken, CancellationToken)"/>.</summary>
    public static async Task<int> Main(string[] args)
    {
        using var stop = new CancellationTokenSource();
        using var kill = new CancellationTokenSource();
        int signals = 0;
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            if (Interlocked.Increment(ref signals) == 1)
            {
                stop.Cancel();
            }
            else
            {
                kill.Cancel();
            }
        }

        using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        return await RunAsync(args, Console.Out, Console.Error, new Terminal(!Console.IsOutputRedirected, !Console.IsErrorRedirected), stop.Token, kill.Token)
            .ConfigureAwait(false);
    }

    /// <summary>Runs the tool with the given streams. Cancelling <paramref name="cancellationToken"/> stops a running VM gracefully.</summary>
    /// <returns>The exit code: 0 success, 1 the VM did not shut down normally, 2 usage or configuration error.</returns>
    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken) =>
        RunAsync(args, stdout, stderr, cancellationToken, CancellationToken.None);

    /// <summary>As <see cref="RunAsync(string[], TextWriter, TextWriter, CancellationToken)"/>; cancelling <paramref name="killToken"/> while stopping kills the VM.</summary>
    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken, CancellationToken killToken) =>
        RunAsync(args, stdout, stderr, new Terminal(false, false), cancellationToken, killToken);

    /// <summary>As <see cref="RunAsync(string[], TextWriter, TextWriter, CancellationToken, CancellationToken)"/>, told which streams are terminals (for the status line).</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, Terminal terminal, CancellationToken cancellationToken, CancellationToken killToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(terminal);
        TextWriter output = TextWriter.Synchronized(stdout);
        TextWriter error = TextWriter.Synchronized(stderr);
        try
        {
            RootCommand root = BuildCommandLine(output, error, terminal, killToken);
            ParseResult parsed = root.Parse(args);
            if (parsed.Errors.Count > 0 && parsed.Action is not HelpWithNotesAction)
            {
                foreach (System.CommandLine.Parsing.ParseError e in parsed.Errors)
                {
                    await error.WriteLineAsync($"vm: {e.Message}").ConfigureAwait(false);
                }

                await error.WriteLineAsync("Run 'vm --help' for usage.").ConfigureAwait(false);
                return ExitCodes.Usage;
            }

            var invocation = new InvocationConfiguration
            {
                Output = output,
                Error = error,
                EnableDefaultExceptionHandler = false,
                ProcessTerminationTimeout = null,
            };
            return await parsed.InvokeAsync(invocation, cancellationToken).ConfigureAwait(false);
        }
        catch (UsageException e)
        {
            await error.WriteLineAsync($"vm: {e.Message}").ConfigureAwait(false);
            return ExitCodes.Usage;
        }
#pragma warning disable CA1031 // The tool reports every failure as a message, never as a stack trace.
        catch (Exception e) when (e is not OperationCanceledException)
#pragma warning restore CA1031
        {
            await error.WriteLineAsync($"vm: error: {e.Message}").ConfigureAwait(false);
            return ExitCodes.Failure;
        }
        finally
        {
            await output.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            await error.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    private static RootCommand BuildCommandLine(TextWriter stdout, TextWriter stderr, Terminal terminal, CancellationToken killToken)
    {
        var root = new RootCommand("Run Linux VMs under crosvm or QEMU from Android-style JSON configs, and build their disks.");
        root.Subcommands.Add(BuildRun(stdout, stderr, terminal, killToken));
        root.Subcommands.Add(BuildInfo(stdout));
        root.Subcommands.Add(BuildGuest(stdout, stderr));
        root.Subcommands.Add(BuildCreatePartition(stdout));
        root.Subcommands.Add(BuildCreateComposite(stdout));
        root.Subcommands.Add(BuildInspect(stdout));
        foreach (Option option in root.Options)
        {
            if (option is HelpOption { Action: HelpAction help } helpOption)
            {
                helpOption.Action = new HelpWithNotesAction(help);
            }
        }

        return root;
    }

    // "--cpus abc" says what it wanted, not "Cannot parse argument 'abc' ... as expected type System.Nullable`1[System.Int32]".
    private static int? ParsePositive(ArgumentResult result)
    {
        string name = result.Parent is OptionResult { Option: { } option } ? option.Name : result.Argument.Name;
        string text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : string.Empty;
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) && value > 0)
        {
            return value;
        }

        result.AddError($"{name} takes a positive whole number, not '{text}'.");
        return null;
    }

    private static Command BuildRun(TextWriter stdout, TextWriter stderr, Terminal terminal, CancellationToken killToken)
    {
        var config = new Argument<string>("config") { Description = "The VM's JSON configuration (Android 'vm run' format)." };
        var vmm = new Option<string>("--vmm") { Description = "The VMM that runs the VM (default: crosvm with --crosvm, QEMU with --qemu, else auto: crosvm when installed and KVM is usable, else QEMU).", HelpName = "auto|crosvm|qemu" };
        vmm.AcceptOnlyFromAmong("auto", "crosvm", "qemu");
        var crosvm = new Option<string>("--crosvm") { Description = "The crosvm executable (default: crosvm on PATH).", HelpName = "PATH" };
        var qemu = new Option<string>("--qemu") { Description = "The QEMU executable (default: qemu-system-x86_64 on PATH).", HelpName = "PATH" };
        var console = new Option<string>("--console") { Description = "Write the guest console to FILE instead of stdout.", HelpName = "FILE" };
        var consoleIn = new Option<bool>("--console-in") { Description = "Forward this tool's stdin to the guest console (end of stdin ends the input; the VM keeps running)." };
        var memory = new Option<int?>("--memory-mib") { Description = "Guest memory in MiB (overrides memory_mib).", HelpName = "N", CustomParser = ParsePositive };
        var cpus = new Option<int?>("--cpus") { Description = "Number of vCPUs (overrides cpus/cpu_topology).", HelpName = "N", CustomParser = ParsePositive };
        var accel = new Option<string>("--accel") { Description = "QEMU acceleration (default auto: KVM when usable).", HelpName = "auto|kvm|tcg" };
        accel.AcceptOnlyFromAmong("auto", "kvm", "tcg");
        var tempDir = new Option<string>("--temp-dir") { Description = "Root of the per-VM temporary folders (keep it short).", HelpName = "DIR" };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Print the library's log, including the VMM's stderr, on stderr." };

        var command = new Command("run", "Create a VM from a JSON config, start it, and wait until it dies (Ctrl+C stops it).")
        {
            config, vmm, crosvm, qemu, console, consoleIn, memory, cpus, accel, tempDir, verbose,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            int? memoryMib = parse.GetValue(memory);
            int? cpuCount = parse.GetValue(cpus);
            var options = new RunOptions(parse.GetValue(config)!)
            {
                Vmm = parse.GetValue(vmm) switch
                {
                    "auto" => VmmKind.Auto,
                    "crosvm" => VmmKind.Crosvm,
                    "qemu" => VmmKind.Qemu,
                    _ => null,
                },
                CrosvmPath = parse.GetValue(crosvm),
                QemuPath = parse.GetValue(qemu),
                ConsolePath = parse.GetValue(console),
                ConsoleInput = parse.GetValue(consoleIn) ? Console.OpenStandardInput() : null,
                MemoryMib = memoryMib,
                Cpus = cpuCount,
                Acceleration = parse.GetValue(accel) switch
                {
                    "auto" => VmAcceleration.Auto,
                    "kvm" => VmAcceleration.Kvm,
                    "tcg" => VmAcceleration.Tcg,
                    _ => null,
                },
                TemporaryDirectory = parse.GetValue(tempDir),
            };
            // On a terminal, a status line (elapsed time, state) stands on stderr's last line while the VM runs; writes
            // to the terminal erase it first. Redirected stderr gets no status.
            TerminalStatus? status = terminal.StderrIsTerminal ? new TerminalStatus(stderr) : null;
            TextWriter err = status is null ? stderr : new StatusAwareWriter(stderr, status);
            TextWriter @out = status is not null && terminal.StdoutIsTerminal ? new StatusAwareWriter(stdout, status) : stdout;
            using var logs = parse.GetValue(verbose) ? new StderrLoggerFactory(err) : null;
            return await new RunCommand(@out, err, status, logs).RunAsync(options, cancellationToken, killToken).ConfigureAwait(false);
        });
        return command;
    }

    private static Command BuildGuest(TextWriter stdout, TextWriter stderr)
    {
        var folder = new Argument<string>("folder") { Description = "Where vmlinuz and initramfs.cpio.gz go (created if needed; rebuilt only when out of date)." };
        var build = new Command("build", "Build the test guest: the distribution's kernel and a busybox initramfs (Debian/Ubuntu, as root).") { folder };
        build.SetAction(async (parse, cancellationToken) =>
            await new GuestBuildCommand(stdout, stderr).RunAsync(parse.GetValue(folder)!, cancellationToken).ConfigureAwait(false));
        return new Command("guest", "Build a guest to run: a small Linux kernel + initramfs for trying the tool and the library.") { build };
    }

    private static Command BuildInfo(TextWriter stdout)
    {
        var crosvm = new Option<string>("--crosvm") { Description = "The crosvm executable to check (default: crosvm on PATH).", HelpName = "PATH" };
        var qemu = new Option<string>("--qemu") { Description = "The QEMU executable to check (default: qemu-system-x86_64 on PATH).", HelpName = "PATH" };
        var command = new Command("info", "Show what this host offers for running VMs, and how to fix what is missing.") { crosvm, qemu };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var options = new InfoOptions();
            if (parse.GetValue(crosvm) is { } c)
            {
                options = options with { CrosvmPath = c };
            }

            if (parse.GetValue(qemu) is { } q)
            {
                options = options with { QemuPath = q };
            }

            return await new InfoCommand(stdout).RunAsync(options, cancellationToken).ConfigureAwait(false);
        });
        return command;
    }

    private static Command BuildCreatePartition(TextWriter stdout)
    {
        var path = new Argument<string>("path") { Description = "The image file to create (must not exist)." };
        var size = new Argument<string>("size") { Description = "Size in bytes; K, M and G suffixes mean KiB, MiB and GiB." };
        var type = new Option<string>("--type", "-t") { Description = "Partition type; only raw is supported.", DefaultValueFactory = _ => "raw", HelpName = "raw" };
        var command = new Command("create-partition", "Create a zero-filled, sparse partition image.") { path, size, type };
        command.SetAction(parse => new CreatePartitionCommand(stdout).Run(parse.GetValue(path)!, parse.GetValue(size)!, parse.GetValue(type)!));
        return command;
    }

    private static Command BuildCreateComposite(TextWriter stdout)
    {
        var output = new Argument<string>("out") { Description = "The composite descriptor to write; header and footer files go next to it." };
        var partitions = new Argument<string[]>("partition")
        {
            Description = "LABEL:PATH or LABEL:PATH:writable, in disk order.",
            Arity = ArgumentArity.OneOrMore,
        };
        var command = new Command("create-composite", "Build a crosvm composite disk (GPT) over partition images, without copying them.") { output, partitions };
        command.SetAction(parse => new CreateCompositeCommand(stdout).Run(parse.GetValue(output)!, parse.GetValue(partitions)!));
        return command;
    }

    private static Command BuildInspect(TextWriter stdout)
    {
        var disk = new Argument<string>("disk") { Description = "A disk image or composite descriptor." };
        var command = new Command("inspect", "Describe a disk image: a composite descriptor's components, or a raw image's size.") { disk };
        command.SetAction(parse => new InspectCommand(stdout).Run(parse.GetValue(disk)!));
        return command;
    }
}
