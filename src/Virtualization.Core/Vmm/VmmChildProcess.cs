using System.Buffers;
using System.ComponentModel;
using Medallion.Shell;
using Microsoft.Extensions.Logging;
using Virtualization.Core.Lifecycle;

namespace Virtualization.Core.Vmm;

/// <summary>
/// A VMM process launched through MedallionShell: in its own session and process group (crosvm kills its whole group
/// on exit), with <c>PR_SET_PDEATHSIG=SIGKILL</c> so it dies with the host process, forked from the
/// <see cref="SpawnThread"/>. stdout (the guest console) is copied to a caller's stream or discarded as it arrives;
/// stderr goes to the logger line by line and its tail is kept for error messages. Nothing is buffered without bound.
/// </summary>
internal sealed class VmmChildProcess
{
    private readonly Command _command;
    private readonly ILogger _logger;
    private readonly int _cid;
    private readonly OutputTail _stderrTail = new();

    private VmmChildProcess(Command command, Stream? consoleOutput, ILogger logger, int cid)
    {
        _command = command;
        _logger = logger;
        _cid = cid;
        ProcessId = command.ProcessId;

        // EOF on the guest's serial input: nobody types into it.
        command.StandardInput.Dispose();

        // MedallionShell buffers output in memory without limit by default; with a bounded pipe a VMM whose console
        // consumer is slow blocks on write instead of growing this process.
        command.StandardOutput.StopBuffering();
        command.StandardError.StopBuffering();
        Task console = consoleOutput is null
            ? DiscardAsync(command)
            : CopyConsoleAsync(command.StandardOutput.BaseStream, consoleOutput);
        Task stderr = PumpStandardErrorAsync();
        Exited = WaitForExitAsync(console, stderr);
    }

    /// <summary>The VMM's process id (also its process group and session id).</summary>
    internal int ProcessId { get; }

    /// <summary>
    /// Completes with the exit code (128 + n when killed by signal n) once the process has exited and its output has
    /// been drained. Never faults.
    /// </summary>
    internal Task<int> Exited { get; }

    /// <summary>The last lines the process wrote to stderr.</summary>
    internal string StandardErrorTail => _stderrTail.ToString();

    /// <summary>
    /// Launches <paramref name="resolved"/> (a full path, see <see cref="ExecutableResolver"/>) with
    /// <paramref name="arguments"/> (an argv array, never a shell line).
    /// </summary>
    /// <exception cref="VirtualMachineStartException">The process could not be launched.</exception>
    internal static async Task<VmmChildProcess> StartAsync(
        string resolved,
        IReadOnlyList<string> arguments,
        Stream? consoleOutput,
        ILogger logger,
        int cid)
    {
        List<string> argv = ProcessWrapper.Wrap(resolved, arguments, out string program);
        Log.LaunchingVmm(logger, cid, resolved, string.Join(' ', arguments));
        try
        {
            return await SpawnThread.RunAsync(() =>
            {
                Command command = Command.Run(program, [], options => options
                    .ThrowOnError(false)
                    .DisposeOnExit(true)
                    .StartInfo(startInfo =>
                    {
                        startInfo.Arguments = string.Empty;
                        startInfo.ArgumentList.Clear();
                        foreach (string argument in argv)
                        {
                            startInfo.ArgumentList.Add(argument);
                        }
                    }));
                return new VmmChildProcess(command, consoleOutput, logger, cid);
            }).ConfigureAwait(false);
        }
        catch (Win32Exception e)
        {
            throw new VirtualMachineStartException(
                $"Could not launch '{resolved}': {e.Message}. Check that it exists and is executable.", null, string.Empty, e);
        }
    }

    /// <summary>
    /// Sends SIGKILL to the VMM's process group (the VMM and anything it forked). Safe to call more than once and after
    /// exit.
    /// </summary>
    internal void Kill()
    {
        if (Exited.IsCompleted)
        {
            return;
        }

        // The group id equals the pid once setsid ran; in the instant before it, signal the process itself.
        if (Interop.Interop.Kill(-ProcessId, Interop.Interop.SIGKILL) != 0)
        {
            _ = Interop.Interop.Kill(ProcessId, Interop.Interop.SIGKILL);
        }
    }

    private static Task DiscardAsync(Command command)
    {
        // Read and drop: a VMM that writes to a pipe nobody drains would block its vCPU.
        command.StandardOutput.Discard();
        return Task.CompletedTask;
    }

    /// <summary>
    /// Copies the guest console to the caller's stream as it arrives. If that stream fails, the failure is logged and
    /// the rest of the console is drained and dropped: a VMM whose stdout nobody reads would block its vCPU.
    /// </summary>
    private async Task CopyConsoleAsync(Stream source, Stream destination)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        bool sinkFailed = false;
        try
        {
            int read;
            while ((read = await source.ReadAsync(buffer).ConfigureAwait(false)) > 0)
            {
                if (sinkFailed)
                {
                    continue;
                }

                try
                {
                    await destination.WriteAsync(buffer.AsMemory(0, read)).ConfigureAwait(false);
                    await destination.FlushAsync().ConfigureAwait(false);
                }
#pragma warning disable CA1031 // The caller's stream may throw anything; the VM must not stall because of it.
                catch (Exception e)
#pragma warning restore CA1031
                {
                    sinkFailed = true;
                    Log.ConsoleCopyFailed(_logger, _cid, e);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task PumpStandardErrorAsync()
    {
        while (await _command.StandardError.ReadLineAsync().ConfigureAwait(false) is { } line)
        {
            _stderrTail.Add(line);
            Log.VmmStandardError(_logger, _cid, line);
        }
    }

    private async Task<int> WaitForExitAsync(Task console, Task stderr)
    {
        CommandResult result;
        try
        {
            result = await _command.Task.ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Exited never faults: a failure to observe the exit is logged and reported as -1.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Log.ConsoleCopyFailed(_logger, _cid, e);
            return -1;
        }

        try
        {
            await Task.WhenAll(console, stderr).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A failing console sink must not hide the VM's death; it is logged.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Log.ConsoleCopyFailed(_logger, _cid, e);
        }

        return result.ExitCode;
    }
}
