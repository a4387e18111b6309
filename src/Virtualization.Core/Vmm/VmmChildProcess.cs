using System.Buffers;
using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Virtualization.Core.Lifecycle;

namespace Virtualization.Core.Vmm;

/// <summary>
/// A VMM launched through <c>vcore-exec</c> (see <see cref="NativeHelper"/>): the helper is this process's child,
/// started from the <see cref="SpawnThread"/> with no redirected pipes; it connects the VMM's stderr (and console) to
/// the <see cref="VmmIoListener"/>, waits until this side holds a pidfd on it, then forks the VMM into a process group
/// of its own and supervises it (see vcore-exec.c).
/// <list type="bullet">
/// <item>Death comes from the helper's pidfd (<see cref="PidfdWatcher"/>), never from the streams closing: the helper
/// exits right after the VMM, having killed whatever the VMM left in its group. The exit code is read through the same
/// pidfd (<see cref="ReadExitCodeAsync"/>).</item>
/// <item>Signals go through the pidfd only (<see cref="PidfdHandle.TrySignal"/>): this library never calls kill(2) on a
/// bare pid or group. Killing asks the helper (SIGTERM), which SIGKILLs the VMM's group while the VMM is still its
/// unreaped child, so the group id cannot belong to anyone else.</item>
/// <item>After the exit, the console and stderr are drained for at most <see cref="DrainTimeout"/>; a consumer that is
/// stalled or throws is then abandoned (and logged), and never delays the death.</item>
/// </list>
/// </summary>
internal sealed class VmmChildProcess
{
    /// <summary>How long the console and stderr may still be drained after the VMM exited.</summary>
    internal static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(1);

    /// <summary>How long a launch that failed before the go byte waits for the helper to exit by itself.</summary>
    private static readonly TimeSpan HelperExitTimeout = TimeSpan.FromSeconds(10);

    private const int ConsoleBufferSize = 16 * 1024;
    private const int StderrBufferSize = 4 * 1024;
    private const int MaxStderrLine = 1024;

    private readonly Process _process;
    private readonly PidfdHandle _pidfd;
    private readonly Socket _stderr;
    private readonly Socket _console;
    private readonly GuestConsole _guestConsole;
    private readonly ILogger _logger;
    private readonly OutputTail _stderrTail = new();

    private VmmChildProcess(
        Process process, PidfdHandle pidfd, Task processExited, Socket stderr, Socket console, GuestConsole guestConsole, ILogger logger)
    {
        _process = process;
        _pidfd = pidfd;
        _stderr = stderr;
        _console = console;
        _guestConsole = guestConsole;
        guestConsole.Connect(console);
        _logger = logger;
        ProcessId = process.Id;
        ProcessExited = processExited;
        Task consolePump = CopyConsoleAsync(console, guestConsole);
        Task stderrPump = PumpStandardErrorAsync();
        Exited = FinishAsync(consolePump, stderrPump);
    }

    /// <summary>The supervising helper's pid (the VMM is its only child); the VM is alive while it is.</summary>
    internal int ProcessId { get; }

    /// <summary>Completes as soon as the helper (and so the VMM) has exited, without waiting for any stream.</summary>
    internal Task ProcessExited { get; }

    /// <summary>
    /// Completes with the VMM's exit code (128 + n when killed by signal n) once it has exited and its output has been
    /// drained (for at most <see cref="DrainTimeout"/>). Never faults.
    /// </summary>
    internal Task<int> Exited { get; }

    /// <summary>For tests: whether the console and stderr sockets, the pidfd and the process object have been released.</summary>
    internal bool HandlesReleased => _console.SafeHandle.IsClosed && _stderr.SafeHandle.IsClosed && _pidfd.IsClosed && IsDisposed(_process);

    /// <summary>The last lines the VMM wrote to stderr.</summary>
    internal string StandardErrorTail => _stderrTail.ToString();

    /// <summary>
    /// Launches <paramref name="resolved"/> (a full path, see <see cref="ExecutableResolver"/>) with
    /// <paramref name="arguments"/> (an argv array, never a shell line) under <c>vcore-exec</c>.
    /// </summary>
    /// <exception cref="VirtualMachineStartException">The process could not be launched.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired; nothing is left running.</exception>
    internal static async Task<VmmChildProcess> StartAsync(
        string resolved,
        IReadOnlyList<string> arguments,
        GuestConsole guestConsole,
        ILogger logger,
        CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        string helper = NativeHelper.Path;
        // Stryker disable once Initializer,Boolean : UseShellExecute is false by default on .NET, and true still runs an executable file directly on Linux.
        var startInfo = new ProcessStartInfo(helper) { UseShellExecute = false };
        startInfo.ArgumentList.Add(Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        startInfo.ArgumentList.Add(VmmIoListener.Name);
        using VmmIoListener.Launch launch = VmmIoListener.Register();
        startInfo.ArgumentList.Add(launch.Token);
        startInfo.ArgumentList.Add("c"); // The console is always connected: it is observed (line waits) and takes input.
        startInfo.ArgumentList.Add(resolved);
        foreach (string argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        Log.LaunchingVmm(logger, resolved, string.Join(' ', arguments));
        Process process;
        try
        {
            process = await SpawnThread.RunAsync(() => Process.Start(startInfo)!).ConfigureAwait(false);
        }
        catch (Win32Exception e)
        {
            throw new VirtualMachineStartException(
                $"Could not launch '{helper}' for '{resolved}': {e.Message}. Check that both exist and are executable.", null, string.Empty, e);
        }

        Socket? stderr = null;
        Socket? console = null;
        PidfdHandle? pidfd = null;
        // Until the go byte, a helper that exits on its own ends the wait for its connections. This wait holds a runtime
        // wait registration (a thread per 63), so it is cancelled as soon as the pidfd takes over.
        using var helperWait = new CancellationTokenSource();
        try
        {
            Task helperExited = process.WaitForExitAsync(helperWait.Token);
            stderr = await launch.WaitForAsync(console: false, process.Id, helperExited, cancellationToken).ConfigureAwait(false);
            console = await launch.WaitForAsync(console: true, process.Id, helperExited, cancellationToken).ConfigureAwait(false);
            // Connections offered before the token fired are handed over without a look at it: a cancelled launch must
            // still never get its go byte.
            cancellationToken.ThrowIfCancellationRequested();

            // The helper is blocked until it reads the go byte, so the pid is still its own: the pidfd cannot name
            // another process. The exit is watched before the VMM exists, so no exit can go unseen.
            pidfd = PidfdHandle.Open(process.Id);
            Task processExited = PidfdWatcher.WhenExitedAsync(pidfd);
            stderr.Send("G"u8);
            await helperWait.CancelAsync().ConfigureAwait(false);
            // Stryker disable once Boolean : nothing subscribes to Process.Exited; this only stops the runtime's exit notification.
            process.EnableRaisingEvents = false;
            return new VmmChildProcess(process, pidfd, processExited, stderr, console, guestConsole, logger);
        }
        catch (Exception e)
        {
            // Without the go byte the helper exits by itself (its connections close, or its connect is refused).
            // Nothing is signalled: it is only waited for, and not forever.
            stderr?.Dispose();
            console?.Dispose();
            launch.Dispose();
            pidfd?.Dispose();
            string code = "unknown";
            try
            {
                await process.WaitForExitAsync(CancellationToken.None).WaitAsync(HelperExitTimeout, CancellationToken.None).ConfigureAwait(false);
                code = process.ExitCode.ToString(CultureInfo.InvariantCulture);
            }
            catch (TimeoutException)
            {
                Log.LauncherDidNotExit(logger, process.Id, HelperExitTimeout);
            }

            process.Dispose();
            if (e is OperationCanceledException && cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            throw new VirtualMachineStartException(
                $"The VMM launcher '{helper}' failed before starting '{resolved}' (exit code {code}): {e.Message}",
                null,
                string.Empty,
                e);
        }
    }

    /// <summary>
    /// Kills the VMM and everything in its process group (through the helper). Safe to call more than once, and after
    /// exit, when it does nothing.
    /// </summary>
    internal void Kill() => _pidfd.TrySignal(Interop.Sys.Signal.SIGTERM);

    private static bool IsDisposed(Process process)
    {
        try
        {
            _ = process.Id;
            return false;
        }
        catch (InvalidOperationException)
        {
            return true; // "No process is associated with this object": closed.
        }
    }

    /// <summary>
    /// The exit code of <paramref name="process"/>, which has exited (its <paramref name="pidfd"/> said so). It is read
    /// through the pidfd without reaping (the runtime reaps its children on its own SIGCHLD handling); only when the
    /// runtime reaped first, or <c>waitid</c> cannot take a pidfd (Linux &lt; 5.4), does it come from
    /// <see cref="Process"/>, whose exit notification is a wait registration on the thread pool.
    /// </summary>
    internal static async Task<int> ReadExitCodeAsync(PidfdHandle pidfd, Process process)
    {
        if (pidfd.TryGetExitCode(out int exitCode))
        {
            return exitCode;
        }

        await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        return process.ExitCode;
    }

    private async Task<int> FinishAsync(Task consolePump, Task stderrPump)
    {
        int exitCode;
        try
        {
            await ProcessExited.ConfigureAwait(false);
            _guestConsole.Disconnect();
            exitCode = await ReadExitCodeAsync(_pidfd, _process).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Exited never faults: a failure to observe the exit is logged and reported as -1.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Log.MonitorFailed(_logger, e);
            exitCode = -1;
        }

        Task pumps = Task.WhenAll(consolePump, stderrPump);
        if (await Task.WhenAny(pumps, Task.Delay(DrainTimeout)).ConfigureAwait(false) != pumps)
        {
            Log.OutputAbandoned(_logger, DrainTimeout);
        }

        // Stryker disable once Statement : ProcessExited never faults (PidfdWatcher only sets a result), so the Disconnect above has always run.
        _guestConsole.Disconnect();
        _console.Dispose();
        _stderr.Dispose();
        _pidfd.Dispose();
        _process.Dispose();
        return exitCode;
    }

    /// <summary>
    /// Copies the guest console to the caller's stream (if any) as it arrives, and lets the line watcher see it. If that
    /// stream fails, the failure is logged and the rest of the console is only observed: a VMM whose console nobody
    /// reads would block its vCPU. The buffer is only rented while data is at hand (zero-byte reads), so an idle VM
    /// holds none.
    /// </summary>
    private async Task CopyConsoleAsync(Socket source, GuestConsole console)
    {
        Stream? destination = console.Output;
        bool sinkFailed = false;
        try
        {
            while (true)
            {
                await source.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None).ConfigureAwait(false);
                byte[] buffer = ArrayPool<byte>.Shared.Rent(ConsoleBufferSize);
                try
                {
                    int read = await source.ReceiveAsync(buffer.AsMemory(), SocketFlags.None).ConfigureAwait(false);
                    if (read == 0)
                    {
                        console.Lines.Complete();
                        return;
                    }

                    console.Lines.Observe(buffer.AsSpan(0, read));
                    if (sinkFailed || destination is null)
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
                        Log.ConsoleCopyFailed(_logger, e);
                    }
                }
                finally
                {
                    // Stryker disable once Statement : an array not returned to the pool is collected; only a later allocation differs.
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
        }
        catch (ObjectDisposedException)
        {
            // Abandoned after the drain timeout.
        }
        catch (SocketException)
        {
        }
    }

    private async Task PumpStandardErrorAsync()
    {
        byte[]? partial = null;
        int partialLength = 0;
        try
        {
            while (true)
            {
                await _stderr.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None).ConfigureAwait(false);
                byte[] buffer = ArrayPool<byte>.Shared.Rent(StderrBufferSize);
                try
                {
                    int read = await _stderr.ReceiveAsync(buffer.AsMemory(), SocketFlags.None).ConfigureAwait(false);
                    if (read == 0)
                    {
                        break;
                    }

                    int start = 0;
                    for (int i = 0; i < read; i++)
                    {
                        if (buffer[i] != (byte)'\n')
                        {
                            continue;
                        }

                        AppendPartial(ref partial, ref partialLength, buffer.AsSpan(start, i - start));
                        EmitLine(partial.AsSpan(0, partialLength));
                        partialLength = 0;
                        start = i + 1;
                    }

                    // Stryker disable once Equality : at start == read the appended span is empty.
                    if (start < read)
                    {
                        AppendPartial(ref partial, ref partialLength, buffer.AsSpan(start, read - start));
                    }
                }
                finally
                {
                    // Stryker disable once Statement : an array not returned to the pool is collected; only a later allocation differs.
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
        }
        catch (ObjectDisposedException)
        {
        }
        catch (SocketException)
        {
        }

        if (partialLength > 0)
        {
            EmitLine(partial.AsSpan(0, partialLength));
        }
    }

    private static void AppendPartial(ref byte[]? partial, ref int length, ReadOnlySpan<byte> bytes)
    {
        partial ??= new byte[MaxStderrLine];
        int take = Math.Min(bytes.Length, MaxStderrLine - length);
        bytes[..take].CopyTo(partial.AsSpan(length));
        length += take;
    }

    private void EmitLine(ReadOnlySpan<byte> bytes)
    {
        string line = Encoding.UTF8.GetString(bytes).TrimEnd('\r');
        _stderrTail.Add(line);
        Log.VmmStandardError(_logger, line);
    }
}
