using System.Diagnostics;
using Nito.AsyncEx;

namespace Virtualization.Core.Vmm;

/// <summary>
/// Waits for a VMM to come up: polls a probe with a short, growing interval, and fails fast when the process exits
/// first or the timeout passes (a testcontainers-style wait strategy).
/// </summary>
internal static class ReadinessProbe
{
    private static readonly TimeSpan s_firstInterval = TimeSpan.FromMilliseconds(1);
    private static readonly TimeSpan s_maxInterval = TimeSpan.FromMilliseconds(20);

    /// <summary>Returns once <paramref name="probe"/> says ready.</summary>
    /// <param name="vmmName">For messages.</param>
    /// <param name="probe">True once the VMM is up.</param>
    /// <param name="process">The process being waited on.</param>
    /// <param name="timeout">How long to wait at most.</param>
    /// <param name="watchDirectory">
    /// A folder where the VMM creates its control socket: the probe is re-run as soon as a file appears there (inotify),
    /// so readiness is seen within microseconds instead of at the next poll.
    /// </param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <exception cref="VirtualMachineStartException">The VMM exited, or the timeout passed.</exception>
    internal static async Task WaitAsync(
        string vmmName,
        Func<CancellationToken, ValueTask<bool>> probe,
        IVmmProcess process,
        TimeSpan timeout,
        string watchDirectory,
        CancellationToken cancellationToken)
    {
        var created = new AsyncAutoResetEvent();
        using var watcher = new FileSystemWatcher(watchDirectory) { NotifyFilter = NotifyFilters.FileName };
        watcher.Created += (_, _) => created.Set();
        watcher.EnableRaisingEvents = true;
        long started = Stopwatch.GetTimestamp();
        TimeSpan interval = s_firstInterval;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (process.Exited.IsCompleted)
            {
                VmmExit exit = await process.Exited.ConfigureAwait(false);
                throw new VirtualMachineStartException(
                    $"{vmmName} exited with code {exit.ExitCode} before the VM was up."
                    + Describe(process.StandardErrorTail),
                    exit.ExitCode,
                    process.StandardErrorTail);
            }

            if (await probe(cancellationToken).ConfigureAwait(false))
            {
                return;
            }

            if (Stopwatch.GetElapsedTime(started) >= timeout)
            {
                throw new VirtualMachineStartException(
                    $"{vmmName} did not come up within {timeout.TotalSeconds:0.###} s (StartTimeout); it was killed."
                    + Describe(process.StandardErrorTail),
                    null,
                    process.StandardErrorTail);
            }

            // Wake when a file appears, when the VMM exits, or at the interval (a fallback should inotify miss it).
            using var wake = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            Task delay = Task.Delay(interval, wake.Token);
            await Task.WhenAny(process.Exited, delay, created.WaitAsync(wake.Token)).ConfigureAwait(false);
            await wake.CancelAsync().ConfigureAwait(false);
            interval = TimeSpan.FromTicks(Math.Min(interval.Ticks * 2, s_maxInterval.Ticks));
        }
    }

    private static string Describe(string stderrTail) =>
        stderrTail.Length == 0 ? " It wrote nothing to stderr." : $" Its stderr ended with:\n{stderrTail}";
}
