using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Virtualization.Core;

namespace Virtualization.Cli;

/// <summary>
/// <c>vm run</c>: loads an Android-style JSON config, creates and starts the VM, streams its console, and waits for it to
/// die. Cancelling the stop token stops the VM gracefully; cancelling the kill token kills it.
/// </summary>
internal sealed class RunCommand
{
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan StatusPeriod = TimeSpan.FromSeconds(1);

    private readonly TextWriter _out;
    private readonly TextWriter _err;
    private readonly TerminalStatus? _status;
    private readonly ILoggerFactory? _loggerFactory;

    /// <summary>Creates the command.</summary>
    /// <param name="stdout">Status lines and (without <c>--console</c>) the guest console. Must be thread-safe.</param>
    /// <param name="stderr">Events, warnings and errors. Must be thread-safe.</param>
    /// <param name="status">The in-place status line while the VM runs (only when stderr is a terminal), or <see langword="null"/>.</param>
    /// <param name="loggerFactory">Receives the library's logs (<c>--verbose</c>), or <see langword="null"/> for none.</param>
    public RunCommand(TextWriter stdout, TextWriter stderr, TerminalStatus? status = null, ILoggerFactory? loggerFactory = null)
    {
        _out = stdout;
        _err = stderr;
        _status = status;
        _loggerFactory = loggerFactory;
    }

    /// <summary>Runs the VM to its death.</summary>
    /// <returns>The payload's exit code when it reported one and the VM then shut down; otherwise
    /// <see cref="ExitCodes.Success"/> when it shut down, <see cref="ExitCodes.Failure"/> otherwise.</returns>
    /// <exception cref="UsageException">The configuration or an option is invalid.</exception>
    public async Task<int> RunAsync(RunOptions options, CancellationToken stopToken, CancellationToken killToken)
    {
        VirtualMachineRawConfig config = LoadConfig(options);
        VirtualizationServiceOptions serviceOptions = BuildServiceOptions(options);

        Stream console;
        try
        {
            console = options.ConsolePath is null
                ? new TextWriterStream(_out, hold: true)
                : new FileStream(options.ConsolePath, FileMode.Create, FileAccess.Write, FileShare.Read, 1, useAsync: false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new UsageException($"Cannot open the console file '{options.ConsolePath}': {e.Message}", e);
        }

        await using (console.ConfigureAwait(false))
        {
            VirtualizationService service;
            try
            {
                service = new VirtualizationService(serviceOptions, _loggerFactory);
            }
            catch (ArgumentException e)
            {
                throw new UsageException(Messages.ForCli(Messages.Of(e), serviceOptions.Vmm), e);
            }

            await using (service.ConfigureAwait(false))
            {
                IVirtualMachine vm;
                try
                {
                    vm = await service.CreateVmAsync(config, console, CancellationToken.None).ConfigureAwait(false);
                }
                catch (ArgumentException e)
                {
                    throw new UsageException(Messages.ForCli(Messages.Of(e), serviceOptions.Vmm), e);
                }

                await using (vm.ConfigureAwait(false))
                {
                    using var statusStop = new CancellationTokenSource();
                    Task status = _status is null ? Task.CompletedTask : ShowStatusAsync(vm, statusStop.Token);
                    try
                    {
                        return await RunVmAsync(vm, options, serviceOptions.Vmm, console, stopToken, killToken).ConfigureAwait(false);
                    }
                    finally
                    {
                        await statusStop.CancelAsync().ConfigureAwait(false);
                        await status.ConfigureAwait(false);
                        _status?.Clear();
                    }
                }
            }
        }
    }

    private async Task<int> RunVmAsync(IVirtualMachine vm, RunOptions options, VmmKind vmm, Stream console, CancellationToken stopToken, CancellationToken killToken)
    {
        await _out.WriteLineAsync($"Created VM from {options.ConfigPath} with CID {vm.Cid}, state is {StateNames.Of(vm.State)}.").ConfigureAwait(false);
        var printer = new PayloadEventPrinter(_out, _err);
        using IDisposable registration = vm.RegisterCallback(printer);
        try
        {
            await vm.StartAsync(stopToken).ConfigureAwait(false);
            await _out.WriteLineAsync($"Started VM, state now {StateNames.Of(vm.State)}.").ConfigureAwait(false);
            if (options.ConsoleInput is { } input)
            {
                // Ends with the input or the VM; a stalled stdin never holds up the VM's death.
                _ = ForwardConsoleInputAsync(vm, input);
            }
        }
        catch (VirtualMachineStartException e)
        {
            await _err.WriteLineAsync($"Failed to start VM: {Messages.ForCli(e.Message, vmm)}").ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stopToken.IsCancellationRequested)
        {
            await _err.WriteLineAsync("Start cancelled.").ConfigureAwait(false);
        }
        finally
        {
            (console as TextWriterStream)?.Release();
        }

        DeathReason reason;
        try
        {
            reason = await vm.WaitForDeathAsync(stopToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stopToken.IsCancellationRequested)
        {
            await _err.WriteLineAsync("Stopping VM...").ConfigureAwait(false);
            await vm.StopAsync(killToken).ConfigureAwait(false);
            reason = await vm.WaitForDeathAsync(CancellationToken.None).ConfigureAwait(false);
        }

        await printer.DrainAsync(DrainTimeout).ConfigureAwait(false);
        await console.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        await _out.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        _status?.Clear();
        await _err.WriteLineAsync($"VM died: {reason}").ConfigureAwait(false);
        if (reason != DeathReason.Shutdown || printer.PayloadFailed)
        {
            return ExitCodes.Failure;
        }

        return printer.PayloadExitCode ?? ExitCodes.Success;
    }

    // Elapsed time and state, once a second until the VM is dead (or the command ends).
    private async Task ShowStatusAsync(IVirtualMachine vm, CancellationToken cancellationToken)
    {
        long started = Stopwatch.GetTimestamp();
        using var timer = new PeriodicTimer(StatusPeriod);
        try
        {
            do
            {
                VirtualMachineState state = vm.State;
                if (state == VirtualMachineState.Dead)
                {
                    return;
                }

                if (state == VirtualMachineState.NotStarted)
                {
                    continue;
                }

                TimeSpan elapsed = Stopwatch.GetElapsedTime(started);
                _status!.Show($"vm: {(int)elapsed.TotalMinutes}:{elapsed.Seconds:00} {StateNames.Of(state)}, CID {vm.Cid} (Ctrl+C stops the VM)");
            }
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task ForwardConsoleInputAsync(IVirtualMachine vm, Stream input)
    {
        try
        {
            await vm.CopyToConsoleInputAsync(input, CancellationToken.None).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Not awaited by anyone: whatever stdin or the VM threw is reported here, never lost.
        catch (Exception e)
#pragma warning restore CA1031
        {
            await _err.WriteLineAsync($"Console input ended: {e.Message}").ConfigureAwait(false);
        }
    }

    private VirtualMachineRawConfig LoadConfig(RunOptions options)
    {
        VirtualMachineRawConfig config;
        IReadOnlyList<string> ignored;
        try
        {
            config = VirtualMachineConfigFile.Load(options.ConfigPath, out ignored);
        }
        catch (VirtualMachineConfigException e)
        {
            throw new UsageException($"{options.ConfigPath}: {Messages.Of(e)}", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"Cannot read the config file '{options.ConfigPath}': {e.Message}", e);
        }

        if (ignored.Count > 0)
        {
            _err.WriteLine($"Ignoring config fields not used by this tool: {string.Join(", ", ignored)}");
        }

        if (options.MemoryMib is { } memory)
        {
            config = config with { MemoryMib = memory };
        }

        if (options.Cpus is { } cpus)
        {
            config = config with { CpuCount = cpus };
        }

        return config;
    }

    private static VirtualizationServiceOptions BuildServiceOptions(RunOptions options)
    {
        var result = new VirtualizationServiceOptions();
        // An explicit VMM path without --vmm picks that VMM; otherwise the library's default (Auto) decides.
        VmmKind? implied = options.CrosvmPath is not null ? VmmKind.Crosvm : options.QemuPath is not null ? VmmKind.Qemu : null;
        if ((options.Vmm ?? implied) is { } vmm)
        {
            result = result with { Vmm = vmm };
        }

        if (options.CrosvmPath is { } crosvm)
        {
            result = result with { CrosvmPath = crosvm };
        }

        if (options.QemuPath is { } qemu)
        {
            result = result with { QemuPath = qemu };
        }

        if (options.Acceleration is { } accel)
        {
            result = result with { Acceleration = accel };
        }

        if (options.TemporaryDirectory is { } temp)
        {
            result = result with { TemporaryDirectory = temp };
        }

        return result;
    }
}
