using System.Globalization;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Soak;

/// <summary>What the VMM (the C stub) does in one lifecycle.</summary>
internal enum VmmBehaviour
{
    /// <summary>Comes up and runs until stopped or killed.</summary>
    RunsUntilStopped,

    /// <summary>Comes up, then exits by itself after a few ms with a random exit code.</summary>
    ExitsByItself,

    /// <summary>Comes up, then dies by a random signal after a few ms.</summary>
    DiesBySignal,

    /// <summary>Writes to stderr and exits before creating its control socket.</summary>
    FailsAtStart,

    /// <summary>Never creates its control socket: the start runs into StartTimeout unless something ends it first.</summary>
    NeverComesUp,

    /// <summary>Creates its control socket and exits at once.</summary>
    ComesUpAndExitsAtOnce,
}

/// <summary>What the test does to the VM while (or after) it starts.</summary>
internal enum SoakOperation
{
    None,
    Kill,
    KillTwice,
    Stop,
    StopWithCancelledToken,
    Dispose,
    SecondStart,
}

/// <summary>How StartAsync's token behaves.</summary>
internal enum StartCancellation
{
    None,
    AlreadyCancelled,
    CancelledAfterDelay,
}

/// <summary>The console stream given to CreateVmAsync.</summary>
internal enum ConsoleSink
{
    None,
    Reads,
    Throws,
    Stalls,
}

/// <summary>What a callback does in OnDied.</summary>
internal enum CallbackMode
{
    Records,
    Throws,
    DisposesVm,
    StopsVm,
    KillsVm,
    StartsWaitForDeath,
    RegistersAnother,
    UnregisteredBeforeStart,
}

/// <summary>How the lifecycle ends once the start has an outcome.</summary>
internal enum SoakEnding
{
    Dispose,
    StopThenDispose,
    LeftToServiceDispose,
}

/// <summary>One lifecycle's random plan; every choice is drawn from a Random seeded by (soak seed, index).</summary>
internal sealed record SoakPlan(
    int Index,
    VmmBehaviour Behaviour,
    int ExitCode,
    int Signal,
    int ExitAfterMs,
    int StartupMs,
    bool IgnoresStopAndTerm,
    bool ForksChild,
    long ConsoleBytes,
    bool ConsoleLoop,
    int StderrLines,
    ConsoleSink Console,
    StartCancellation Cancellation,
    int CancelAfterMs,
    SoakOperation Operation,
    bool OperationDuringStart,
    int OperationDelayMs,
    CallbackMode[] Callbacks,
    SoakEnding Ending)
{
    private static readonly int[] s_exitCodes = [0, 0, 1, 2, 32, 33, 34, 35, 36, 77, 255];

    /// <summary>
    /// Exit codes only a crosvm whose VM ran produces (stop, reboot, crash, panic, watchdog): the library takes them as
    /// proof that the VM came up even when it never saw the control socket answer.
    /// </summary>
    public static readonly int[] RanExitCodes = [0, 32, 33, 34, 36];

    /// <summary>Exit codes of a start that failed (error, InvalidArgs, anything else), never a code of <see cref="RanExitCodes"/>.</summary>
    private static readonly int[] s_failCodes = [1, 2, 35, 77, 255];
    private static readonly int[] s_signals = [6, 7, 9, 11, 15];

    /// <summary>
    /// The VMM exits by itself soon after coming up with a code that does not prove it ran: if it is gone before the
    /// probe's connection, the library cannot tell it from a failed start, and either outcome is correct.
    /// </summary>
    public bool MayLookLikeAFailedStart =>
        Behaviour is VmmBehaviour.ExitsByItself or VmmBehaviour.DiesBySignal && !(Behaviour == VmmBehaviour.ExitsByItself && RanExitCodes.Contains(ExitCode));

    /// <summary>The VMM ends by itself (or never comes up) without anyone killing it.</summary>
    public bool EndsByItself => Behaviour is not VmmBehaviour.RunsUntilStopped;

    /// <summary>Nothing but the VMM decides how this VM dies: its death reason is exactly predictable.</summary>
    public bool Unperturbed => Operation is SoakOperation.None or SoakOperation.SecondStart && Cancellation == StartCancellation.None;

    public static SoakPlan Draw(int seed, int index)
    {
        var r = new Random(unchecked((seed * 1_000_003) + index));
        VmmBehaviour behaviour = Pick(r, (VmmBehaviour.RunsUntilStopped, 40), (VmmBehaviour.ExitsByItself, 18), (VmmBehaviour.DiesBySignal, 10),
            (VmmBehaviour.FailsAtStart, 12), (VmmBehaviour.NeverComesUp, 6), (VmmBehaviour.ComesUpAndExitsAtOnce, 14));
        ConsoleSink console = Pick(r, (ConsoleSink.None, 45), (ConsoleSink.Reads, 40), (ConsoleSink.Throws, 12), (ConsoleSink.Stalls, 3));
        SoakOperation operation = Pick(r, (SoakOperation.None, 30), (SoakOperation.Kill, 14), (SoakOperation.KillTwice, 6), (SoakOperation.Stop, 14),
            (SoakOperation.StopWithCancelledToken, 10), (SoakOperation.Dispose, 14), (SoakOperation.SecondStart, 12));
        StartCancellation cancellation = Pick(r, (StartCancellation.None, 80), (StartCancellation.AlreadyCancelled, 5), (StartCancellation.CancelledAfterDelay, 15));

        // A stalled console blocks a VMM that writes a lot; keep that for VMs that are killed anyway, so one that
        // should exit by itself does not wait for the ending's kill.
        bool mayBlockOnConsole = console != ConsoleSink.Stalls || !(behaviour != VmmBehaviour.RunsUntilStopped && operation == SoakOperation.None);
        var callbacks = new CallbackMode[r.Next(1, 4)];
        for (int i = 0; i < callbacks.Length; i++)
        {
            callbacks[i] = Pick(r, (CallbackMode.Records, 30), (CallbackMode.Throws, 12), (CallbackMode.DisposesVm, 10), (CallbackMode.StopsVm, 10),
                (CallbackMode.KillsVm, 8), (CallbackMode.StartsWaitForDeath, 12), (CallbackMode.RegistersAnother, 10), (CallbackMode.UnregisteredBeforeStart, 8));
        }

        return new SoakPlan(
            index,
            behaviour,
            ExitCode: behaviour switch
            {
                VmmBehaviour.FailsAtStart => s_failCodes[r.Next(s_failCodes.Length)],
                VmmBehaviour.ComesUpAndExitsAtOnce => RanExitCodes[r.Next(RanExitCodes.Length)],
                _ => s_exitCodes[r.Next(s_exitCodes.Length)],
            },
            Signal: s_signals[r.Next(s_signals.Length)],
            ExitAfterMs: r.Next(0, 30),
            StartupMs: r.Next(4) == 0 ? r.Next(1, 40) : 0,
            IgnoresStopAndTerm: r.Next(100) < 15,
            ForksChild: r.Next(100) < 10,
            ConsoleBytes: mayBlockOnConsole && r.Next(100) < 12 ? r.Next(64, 1024) * 1024L : 0,
            ConsoleLoop: mayBlockOnConsole && r.Next(100) < 10,
            StderrLines: r.Next(100) < 10 ? r.Next(50, 2000) : 0,
            console,
            cancellation,
            CancelAfterMs: r.Next(0, 20),
            operation,
            OperationDuringStart: r.Next(2) == 0,
            OperationDelayMs: r.Next(0, 15),
            callbacks,
            Ending: Pick(r, (SoakEnding.Dispose, 60), (SoakEnding.StopThenDispose, 39), (SoakEnding.LeftToServiceDispose, 1)));
    }

    /// <summary>The stub's scenario for this plan.</summary>
    public StubScenario Scenario() => new()
    {
        StartupMs = StartupMs > 0 ? StartupMs : null,
        FailAtStart = Behaviour == VmmBehaviour.FailsAtStart ? ExitCode : null,
        NoSocket = Behaviour == VmmBehaviour.NeverComesUp,
        SocketThenExit = Behaviour == VmmBehaviour.ComesUpAndExitsAtOnce,
        ExitAfterMs = Behaviour is VmmBehaviour.ExitsByItself or VmmBehaviour.DiesBySignal ? ExitAfterMs : null,
        ExitCode = Behaviour is VmmBehaviour.ExitsByItself or VmmBehaviour.ComesUpAndExitsAtOnce ? ExitCode : null,
        Signal = Behaviour == VmmBehaviour.DiesBySignal ? Signal : null,
        IgnoreStop = IgnoresStopAndTerm,
        IgnoreTerm = IgnoresStopAndTerm,
        ForkChild = ForksChild,
        ConsoleBytes = ConsoleBytes > 0 ? ConsoleBytes : null,
        ConsoleLoop = ConsoleLoop,
        StderrLines = StderrLines > 0 ? StderrLines : null,
    };

    /// <summary>The fault kinds this plan injects, for the summary table.</summary>
    public IEnumerable<string> FaultKinds()
    {
        yield return Behaviour switch
        {
            VmmBehaviour.ExitsByItself => $"vmm: exits by itself after {(ExitAfterMs < 10 ? "<10" : "10-30")} ms",
            VmmBehaviour.DiesBySignal => "vmm: dies by signal " + Signal.ToString(CultureInfo.InvariantCulture),
            VmmBehaviour.FailsAtStart => "vmm: fails at start",
            _ => "vmm: " + Behaviour,
        };
        if (Behaviour is VmmBehaviour.ExitsByItself or VmmBehaviour.ComesUpAndExitsAtOnce or VmmBehaviour.FailsAtStart)
        {
            yield return "vmm exit code " + ExitCode.ToString(CultureInfo.InvariantCulture);
        }

        if (StartupMs > 0 && Behaviour != VmmBehaviour.FailsAtStart)
        {
            yield return "vmm: slow start-up (1-40 ms)";
        }

        if (IgnoresStopAndTerm)
        {
            yield return "vmm: ignores stop and SIGTERM";
        }

        if (ForksChild)
        {
            yield return "vmm: forks a child";
        }

        if (ConsoleBytes > 0)
        {
            yield return "vmm: writes 64 KiB-1 MiB of console";
        }

        if (ConsoleLoop)
        {
            yield return "vmm: writes console until killed";
        }

        if (StderrLines > 0)
        {
            yield return "vmm: floods stderr (50-2000 lines)";
        }

        yield return "console stream: " + Console;
        if (Cancellation != StartCancellation.None)
        {
            yield return "start token: " + Cancellation;
        }

        yield return "operation: " + Operation + (Operation == SoakOperation.None ? string.Empty : OperationDuringStart ? " (during start)" : " (after start)");
        foreach (CallbackMode mode in Callbacks)
        {
            yield return "callback: " + mode;
        }

        yield return "ending: " + Ending;
    }

    public override string ToString() =>
        $"lifecycle {Index}: {Behaviour} (code {ExitCode}, signal {Signal}, after {ExitAfterMs} ms, startup {StartupMs} ms, ignore stop/term {IgnoresStopAndTerm}, "
        + $"fork {ForksChild}, console bytes {ConsoleBytes}, console loop {ConsoleLoop}, stderr lines {StderrLines}), console {Console}, "
        + $"start token {Cancellation} ({CancelAfterMs} ms), operation {Operation} ({(OperationDuringStart ? "during" : "after")} start, +{OperationDelayMs} ms), "
        + $"callbacks [{string.Join(", ", Callbacks)}], ending {Ending}";

    private static T Pick<T>(Random r, params (T Value, int Weight)[] choices)
    {
        int n = r.Next(choices.Sum(c => c.Weight));
        foreach ((T value, int weight) in choices)
        {
            if ((n -= weight) < 0)
            {
                return value;
            }
        }

        throw new InvalidOperationException("unreachable");
    }
}
