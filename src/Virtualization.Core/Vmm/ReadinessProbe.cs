namespace Virtualization.Core.Vmm;

/// <summary>
/// Waits for a VMM to come up by polling a cheap probe: every 1 ms for the first 16 ms (a small VMM is up within a few
/// milliseconds, and a doubling interval there cost up to its own start time again), then doubling up to 16 ms, then
/// 100 ms after the first 2 s. No kernel object per VM (an inotify instance per start is limited to 128 per user and
/// leaked by .NET when its folder goes away). Fails fast when the process exits first; the caller's token carries the
/// start deadline. The probe always runs once more after the exit was seen: a VMM that came up and exited at once did
/// come up.
/// </summary>
internal static class ReadinessProbe
{
    private static readonly TimeSpan s_firstInterval = TimeSpan.FromMilliseconds(1); // Task.Delay's granularity
    private static readonly TimeSpan s_fastPhase = TimeSpan.FromMilliseconds(16);
    private static readonly TimeSpan s_maxInterval = TimeSpan.FromMilliseconds(16);
    private static readonly TimeSpan s_slowInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan s_slowAfter = TimeSpan.FromSeconds(2);

    /// <summary>Returns once <paramref name="probe"/> says ready.</summary>
    /// <param name="probe">True once the VMM is up; may throw <see cref="OperationCanceledException"/> on the token.</param>
    /// <param name="processExited">Completes when the VMM has exited.</param>
    /// <param name="exitDescription">Describes the exit for the message (exit code, stderr).</param>
    /// <param name="cancellationToken">Cancels the wait (the caller's token linked with the start deadline).</param>
    /// <exception cref="VirtualMachineStartException">The VMM exited before it was up.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    internal static Task WaitAsync(
        Func<CancellationToken, ValueTask<bool>> probe,
        Task processExited,
        Func<Task<VirtualMachineStartException>> exitDescription,
        CancellationToken cancellationToken) =>
        WaitAsync(probe, processExited, exitDescription, static () => Environment.TickCount64, Task.Delay, cancellationToken);

    /// <summary>
    /// <see cref="WaitAsync(Func{CancellationToken, ValueTask{bool}}, Task, Func{Task{VirtualMachineStartException}}, CancellationToken)"/>
    /// with its clock (milliseconds) and its delay given, so that tests drive time.
    /// </summary>
    internal static async Task WaitAsync(
        Func<CancellationToken, ValueTask<bool>> probe,
        Task processExited,
        Func<Task<VirtualMachineStartException>> exitDescription,
        Func<long> clock,
        Func<TimeSpan, CancellationToken, Task> delay,
        CancellationToken cancellationToken)
    {
        long started = clock();
        TimeSpan interval = s_firstInterval;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            bool exited = processExited.IsCompleted;
            if (await probe(cancellationToken).ConfigureAwait(false))
            {
                return;
            }

            if (exited)
            {
                throw await exitDescription().ConfigureAwait(false);
            }

            await Task.WhenAny(processExited, delay(interval, cancellationToken)).ConfigureAwait(false);
            interval = NextInterval(interval, clock() - started);
        }
    }

    /// <summary>The interval after <paramref name="interval"/>, <paramref name="elapsedMilliseconds"/> into the wait.</summary>
    internal static TimeSpan NextInterval(TimeSpan interval, long elapsedMilliseconds) =>
        elapsedMilliseconds > (long)s_slowAfter.TotalMilliseconds ? s_slowInterval
        : elapsedMilliseconds < (long)s_fastPhase.TotalMilliseconds ? s_firstInterval
        : TimeSpan.FromTicks(Math.Min(interval.Ticks * 2, s_maxInterval.Ticks));
}
