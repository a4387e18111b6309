using System.CommandLine;
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
        return await RunAsync(args, Console.Out, Console.Error, stop.Token, kill.Token).ConfigureAwait(false);
    }

    /// <summary>Runs the tool with the given streams. Cancelling <paramref name="cancellationToken"/> stops a running VM gracefully.</summary>
    /// <returns>The exit code: 0 success, 1 the VM did not shut down normally, 2 usage or configuration error.</returns>
    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken) =>
        RunAsync(args, stdout, stderr, cancellationToken, CancellationToken.None);

    /// <summary>As <see cref="RunAsync(string[], TextWriter, TextWriter, CancellationToken)"/>; cancelling <paramref name="killToken"/> while stopping kills the VM.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken, CancellationToken killToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        TextWriter output = TextWriter.Synchronized(stdout);
        TextWriter error = TextWriter.Synchronized(stderr);
        try
        {
            RootCommand root = BuildCommandLine(output, error, killToken);
            ParseResult parsed = root.Parse(args);
            if (parsed.Errors.Count > 0)
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

    private static RootCommand BuildCommandLine(TextWriter stdout, TextWriter stderr, CancellationToken killToken)
    {
        var root = new RootCommand("Run Linux VMs under crosvm or QEMU from Android-style JSON configs, and build their disks.");
        root.Subcommands.Add(BuildRun(stdout, stderr, killToken));
        root.Subcommands.Add(BuildInfo(stdout));
        root.Subcommands.Add(BuildCreatePartition(stdout));
        root.Subcommands.Add(BuildCreateComposite(stdout));
        root.Subcommands.Add(BuildInspect(stdout));
        return root;
    }

    private static Command BuildRun(TextWriter stdout, TextWriter stderr, CancellationToken killToken)
    {
        var config = new Argument<string>("config") { Description = "The VM's JSON configuration (Android 'vm run' format)." };
        var vmm = new Option<string>("--vmm") { Description = "The VMM that runs the VM (default: crosvm with --crosvm, QEMU with --qemu, else auto: crosvm when installed and KVM is usable, else QEMU).", HelpName = "auto|crosvm|qemu" };
        vmm.AcceptOnlyFromAmong("auto", "crosvm", "qemu");
        var crosvm = new Option<string>("--crosvm") { Description = "The crosvm executable (default: crosvm on PATH).", HelpName = "PATH" };
        var qemu = new Option<string>("--qemu") { Description = "The QEMU executable (default: qemu-system-x86_64 on PATH).", HelpName = "PATH" };
        var console = new Option<string>("--console") { Description = "Write the guest console to FILE instead of stdout.", HelpName = "FILE" };
        var memory = new Option<int?>("--memory-mib") { Description = "Guest memory in MiB (overrides memory_mib).", HelpName = "N" };
        var cpus = new Option<int?>("--cpus") { Description = "Number of vCPUs (overrides cpus/cpu_topology).", HelpName = "N" };
        var accel = new Option<string>("--accel") { Description = "QEMU acceleration (default auto: KVM when usable).", HelpName = "auto|kvm|tcg" };
        accel.AcceptOnlyFromAmong("auto", "kvm", "tcg");
        var tempDir = new Option<string>("--temp-dir") { Description = "Root of the per-VM temporary folders (keep it short).", HelpName = "DIR" };

        var command = new Command("run", "Create a VM from a JSON config, start it, and wait until it dies (Ctrl+C stops it).")
        {
            config, vmm, crosvm, qemu, console, memory, cpus, accel, tempDir,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            int? memoryMib = parse.GetValue(memory);
            int? cpuCount = parse.GetValue(cpus);
            if (memoryMib is <= 0)
            {
                throw new UsageException($"--memory-mib must be positive (was {memoryMib}).");
            }

            if (cpuCount is <= 0)
            {
                throw new UsageException($"--cpus must be positive (was {cpuCount}).");
            }

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
            return await new RunCommand(stdout, stderr).RunAsync(options, cancellationToken, killToken).ConfigureAwait(false);
        });
        return command;
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
