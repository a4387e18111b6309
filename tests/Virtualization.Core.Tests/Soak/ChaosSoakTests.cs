using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Virtualization.Core.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Virtualization.Core.Tests.Soak;

/// <summary>The soak counts this process's descriptors and threads, so nothing else may run beside it.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SoakTestGroup
{
    public const string Name = "Soak (runs alone: it counts the process's descriptors and threads)";
}

/// <summary>
/// Chaos soak: thousands of VM lifecycles, 16 at a time, each with a random VMM behaviour (the C stub exits at random
/// times with random codes or by random signals, fails at start, never comes up, ignores stop and SIGTERM, forks, floods
/// the console or stderr), random operations (kill, stop, stop with a cancelled token, dispose, a second start) during or
/// after the start, start cancellation, console streams that throw or stall, and callbacks that throw or act on the VM
/// from OnDied. Every lifecycle checks the documented contract; the end checks that nothing leaked.
/// <para>VCORE_SOAK_LIFECYCLES (default 2000) and VCORE_SOAK_SEED (default 20261202, or "random") override the run.</para>
/// </summary>
[Collection(SoakTestGroup.Name)]
[Trait("Category", "Soak")]
public sealed partial class ChaosSoakTests(ITestOutputHelper output)
{
    private const int DefaultLifecycles = 2000;
    private const int DefaultSeed = 20261202;
    private const int InFlight = 16;

    /// <summary>How long any single wait may take before the lifecycle is reported as hung (a guard, not a timing check).</summary>
    private static readonly TimeSpan s_hang = TimeSpan.FromSeconds(30);

    private static readonly Type[] s_startExceptions =
        [typeof(VirtualMachineStartException), typeof(OperationCanceledException), typeof(ObjectDisposedException), typeof(InvalidOperationException)];

    private static readonly Type[] s_createExceptions =
        [typeof(VirtualMachineConfigException), typeof(NotSupportedException), typeof(CidExhaustedException), typeof(ObjectDisposedException)];

    private readonly ConcurrentQueue<string> _failures = new();
    private readonly ConcurrentDictionary<string, int> _faults = new();
    private readonly ConcurrentDictionary<string, int> _outcomes = new();
    private readonly SoakProcesses _processes = new();
    private readonly ConcurrentBag<Lifecycle> _leftToService = [];
    private int _seed;

    [Fact(Timeout = 900_000)]
    public async Task ChaosSoak_RandomVmmFaultsOperationsAndCallbacks_KeepTheContractAndLeakNothing()
    {
        int lifecycles = int.TryParse(Environment.GetEnvironmentVariable("VCORE_SOAK_LIFECYCLES"), out int n) && n > 0 ? n : DefaultLifecycles;
        string? seedText = Environment.GetEnvironmentVariable("VCORE_SOAK_SEED");
        _seed = seedText == "random" ? Random.Shared.Next() : int.TryParse(seedText, out int s) ? s : DefaultSeed;
        output.WriteLine($"chaos soak: {lifecycles} lifecycles, {InFlight} in flight, seed {_seed} (VCORE_SOAK_SEED={_seed} VCORE_SOAK_LIFECYCLES={lifecycles} to repeat)");

        var unobserved = new ConcurrentQueue<string>();
        void OnUnobserved(object? sender, UnobservedTaskExceptionEventArgs e)
        {
            string text = e.Exception.ToString();
            if (LibraryFrame().IsMatch(text))
            {
                unobserved.Enqueue(text);
            }
        }

        TaskScheduler.UnobservedTaskException += OnUnobserved;
        using var temp = new TempDir("vct-soak-");
        string root = temp.Path;
        var logger = new SoakLogger();
        using var loggerFactory = LoggerFactory.Create(builder => builder.AddProvider(logger).SetMinimumLevel(LogLevel.Information));
        var options = new VirtualizationServiceOptions
        {
            Vmm = VmmKind.Crosvm,
            CrosvmPath = TestPaths.StubVmm,
            TemporaryDirectory = Path.Combine(root, "vms"),
            CidNamespace = "soak-" + Guid.NewGuid().ToString("N"),
            StopGracePeriod = TimeSpan.FromMilliseconds(200),
            StartTimeout = TimeSpan.FromSeconds(2),
        };
        var service = new VirtualizationService(options, loggerFactory);
        var soak = new SoakWorld(root, options, service);
        try
        {
            // Bring up the process-wide parts (I/O listener, pidfd watcher, thread pool) before counting.
            await Infrastructure.InFlight.ForEachAsync(64, InFlight, async _ =>
            {
                IVirtualMachine vm = await service.CreateVmAsync(new VirtualMachineRawConfig { Kernel = soak.Kernel(new StubScenario()) }, new CountingStream());
                await vm.StartAsync();
                await vm.StopAsync();
                await vm.DisposeAsync();
            });
            Settle();
            int fdsBefore = ProcessProbe.OpenFileDescriptors();
            int threadsBefore = ProcessProbe.Threads();
            CpuTime cpuBefore = CpuTime.Now();

            using var sampling = new CancellationTokenSource();
            Task sampler = SampleHelperPidsAsync(service, sampling.Token);
            var clock = Stopwatch.StartNew();
            await Infrastructure.InFlight.ForEachAsync(lifecycles, InFlight, i => RunLifecycleAsync(soak, SoakPlan.Draw(_seed, i)));
            TimeSpan lifecyclesTook = clock.Elapsed;

            // VMs left running go down with the service, which must stop them all and wait for them.
            await service.DisposeAsync().AsTask().WaitAsync(s_hang);
            await sampling.CancelAsync();
            await sampler;
            foreach (Lifecycle left in _leftToService)
            {
                await CheckDeathAsync(left, "after the service's DisposeAsync");
            }

            TimeSpan took = clock.Elapsed;
            CpuTime cpu = CpuTime.Now() - cpuBefore;
            CheckNothingLeaked(soak);
            await CheckCountsSettleAsync(fdsBefore, threadsBefore);
            Settle();
            Settle();
            Fail(null, unobserved.IsEmpty, () => $"{unobserved.Count} unobserved task exception(s) from the library; first: {unobserved.First()}");
            Fail(null, logger.Alarms.Count == 0, () => $"the library logged that it gave up: {string.Join("\n", logger.Alarms)}");
            foreach ((string key, int count) in logger.Counts)
            {
                _outcomes[key] = count;
            }

            WriteSummary(lifecycles, lifecyclesTook, took, cpu);
            string[] failures = [.. _failures];
            failures.Should().BeEmpty(
                $"the soak must keep the contract (seed {_seed}, {lifecycles} lifecycles; repeat with VCORE_SOAK_SEED={_seed} VCORE_SOAK_LIFECYCLES={lifecycles}); "
                + $"{failures.Length} failure(s), the first ones:\n{string.Join("\n", failures.Take(20))}");
        }
        finally
        {
            TaskScheduler.UnobservedTaskException -= OnUnobserved;
            await service.DisposeAsync();
        }
    }

    /// <summary>Stack frames in the library (not in this test assembly).</summary>
    [GeneratedRegex(@"at Virtualization\.Core\.(?!Tests\.)")]
    private static partial Regex LibraryFrame();

    private static void Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    private static Stream? CreateSink(ConsoleSink sink) => sink switch
    {
        ConsoleSink.Reads => new CountingStream(),
        ConsoleSink.Throws => new ThrowingStream(),
        ConsoleSink.Stalls => new StalledStream(),
        _ => null,
    };

    private static DeathReason NaturalReason(int exitCode) => exitCode switch
    {
        0 => DeathReason.Shutdown,
        32 => DeathReason.Reboot,
        33 => DeathReason.Crash,
        34 => DeathReason.GuestPanic,
        36 => DeathReason.Watchdog,
        _ => DeathReason.Error,
    };

    private static async Task<Exception?> RecordAsync(Task task)
    {
        try
        {
            await task.WaitAsync(s_hang);
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    private static void Count(ConcurrentDictionary<string, int> table, string key) => table.AddOrUpdate(key, 1, (_, v) => v + 1);

    private void Fail(SoakPlan? plan, bool ok, Func<string> what)
    {
        if (!ok)
        {
            _failures.Enqueue($"[seed {_seed}] {what()}" + (plan is null ? string.Empty : $"\n    plan: {plan}"));
        }
    }

    private async Task RunLifecycleAsync(SoakWorld h, SoakPlan plan)
    {
        foreach (string kind in plan.FaultKinds())
        {
            Count(_faults, kind);
        }

        try
        {
            await RunLifecycleCoreAsync(h, plan);
        }
        catch (Exception e)
        {
            Fail(plan, false, () => $"the lifecycle threw {e}");
        }
    }

    private async Task RunLifecycleCoreAsync(SoakWorld h, SoakPlan plan)
    {
        IVirtualMachine vm;
        try
        {
            vm = await h.Service.CreateVmAsync(new VirtualMachineRawConfig { Kernel = h.Kernel(plan.Scenario()) }, CreateSink(plan.Console));
        }
        catch (Exception e)
        {
            Fail(plan, s_createExceptions.Any(t => t.IsInstanceOfType(e)), () => $"CreateVmAsync threw an undocumented {e}");
            Fail(plan, false, () => $"CreateVmAsync failed on a valid configuration: {e.Message}");
            return;
        }

        var life = new Lifecycle(plan, vm);
        foreach (CallbackMode mode in plan.Callbacks)
        {
            var callback = new SoakCallback(life, mode, this);
            IDisposable registration = vm.RegisterCallback(callback);
            if (mode == CallbackMode.UnregisteredBeforeStart)
            {
                registration.Dispose();
            }

            life.Callbacks.Enqueue(callback);
        }

        using var cancel = new CancellationTokenSource();
        if (plan.Cancellation == StartCancellation.AlreadyCancelled)
        {
            await cancel.CancelAsync();
        }
        else if (plan.Cancellation == StartCancellation.CancelledAfterDelay)
        {
            cancel.CancelAfter(plan.CancelAfterMs);
        }

        Task start = vm.StartAsync(cancel.Token);
        TrackPid(h, vm);
        Task? secondStart = null;
        if (plan.Operation != SoakOperation.None)
        {
            if (plan.OperationDuringStart)
            {
                await Task.Delay(plan.OperationDelayMs);
            }
            else
            {
                await RecordAsync(start);
            }

            secondStart = await OperateAsync(plan, vm);
        }

        Exception? startError = await RecordAsync(start);
        TrackPid(h, vm);
        Count(_outcomes, "start: " + (startError?.GetType().Name ?? "succeeded"));
        life.StartTimedOutUnderLoad = CheckStartOutcome(plan, vm, startError);
        if (secondStart is not null)
        {
            Exception? second = await RecordAsync(secondStart);
            Fail(plan, second is InvalidOperationException, () => $"a second StartAsync must throw InvalidOperationException; it ended with {second?.ToString() ?? "success"}");
        }

        if (plan.Unperturbed && plan.EndsByItself)
        {
            // Let the VMM's own end decide the death, so its reason can be checked exactly.
            await RecordAsync(vm.WaitForDeathAsync());
        }

        Task? disposal = null;
        switch (plan.Ending)
        {
            case SoakEnding.StopThenDispose:
                Exception? stop = await RecordAsync(vm.StopAsync());
                Fail(plan, stop is null, () => $"StopAsync threw {stop}");
                break;
            case SoakEnding.LeftToServiceDispose:
                _leftToService.Add(life);
                return;
            default:
                disposal = vm.DisposeAsync().AsTask();
                break;
        }

        await CheckDeathAsync(life, "after the lifecycle");
        Exception? dispose = await RecordAsync(disposal ?? vm.DisposeAsync().AsTask());
        Fail(plan, dispose is null, () => $"DisposeAsync threw {dispose}");

        // A disposed VM refuses use with ObjectDisposedException and still reads Dead.
        Fail(plan, vm.State == VirtualMachineState.Dead, () => $"a disposed VM reads {vm.State}");
        Exception? restart = await RecordAsync(vm.StartAsync());
        Fail(plan, restart is ObjectDisposedException, () => $"StartAsync on a disposed VM must throw ObjectDisposedException; got {restart?.ToString() ?? "success"}");
        try
        {
            vm.RegisterCallback(new SoakCallback(life, CallbackMode.Records, this));
            Fail(plan, false, () => "RegisterCallback on a disposed VM must throw ObjectDisposedException");
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>Does the plan's operation; returns the second start's task, if that was the operation.</summary>
    private async Task<Task?> OperateAsync(SoakPlan plan, IVirtualMachine vm)
    {
        try
        {
            switch (plan.Operation)
            {
                case SoakOperation.Kill:
                    vm.Kill();
                    break;
                case SoakOperation.KillTwice:
                    vm.Kill();
                    vm.Kill();
                    break;
                case SoakOperation.Stop:
                    await vm.StopAsync().WaitAsync(s_hang);
                    break;
                case SoakOperation.StopWithCancelledToken:
                    await vm.StopAsync(new CancellationToken(canceled: true)).WaitAsync(s_hang);
                    break;
                case SoakOperation.Dispose:
                    await vm.DisposeAsync().AsTask().WaitAsync(s_hang);
                    break;
                case SoakOperation.SecondStart:
                    return vm.StartAsync();
                default:
                    break;
            }
        }
        catch (Exception e)
        {
            Fail(plan, false, () => $"{plan.Operation} threw {e}");
        }

        return null;
    }

    /// <returns>True when a VMM that comes up ran into StartTimeout (load), which changes its death reason.</returns>
    private bool CheckStartOutcome(SoakPlan plan, IVirtualMachine vm, Exception? error)
    {
        Fail(plan, error is null || s_startExceptions.Any(t => t.IsInstanceOfType(error)), () => $"StartAsync threw an undocumented {error}");
        if (error is TimeoutException)
        {
            Fail(plan, false, () => "StartAsync hung");
            return false;
        }

        if (error is not null)
        {
            // A failed start leaves the VM dead at once: StartAsync only throws after the death was processed.
            Fail(plan, vm.State == VirtualMachineState.Dead && vm.DeathReason is not null,
                () => $"StartAsync threw {error.GetType().Name} but the VM reads {vm.State}/{vm.DeathReason}");
        }

        if (plan.Cancellation == StartCancellation.AlreadyCancelled && plan.Operation != SoakOperation.Dispose)
        {
            Fail(plan, error is OperationCanceledException, () => $"a start with a cancelled token must throw OperationCanceledException; got {error?.ToString() ?? "success"}");
        }

        if (error is OperationCanceledException)
        {
            Fail(plan, vm.DeathReason == DeathReason.Killed, () => $"a cancelled start must leave the VM Killed; it is {vm.DeathReason}");
        }

        if (!plan.Unperturbed)
        {
            return false;
        }

        switch (plan.Behaviour)
        {
            case VmmBehaviour.FailsAtStart:
                Fail(plan, error is VirtualMachineStartException { ExitCode: var code } && code == plan.ExitCode,
                    () => $"a VMM that fails at start must make StartAsync throw VirtualMachineStartException with its exit code {plan.ExitCode}; got {error?.ToString() ?? "success"}");
                break;
            case VmmBehaviour.NeverComesUp:
                Fail(plan, error is VirtualMachineStartException, () => $"a VMM that never comes up must time out; got {error?.ToString() ?? "success"}");
                break;
            default:
                if (error is VirtualMachineStartException { ExitCode: null } timeout && timeout.Message.Contains("StartTimeout", StringComparison.Ordinal))
                {
                    // Not the library's fault when the machine is overloaded; counted and bounded in the summary.
                    Count(_outcomes, "start timed out on a VMM that comes up (load)");
                    return true;
                }

                if (error is VirtualMachineStartException { ExitCode: not null } && plan.MayLookLikeAFailedStart)
                {
                    // Gone before the probe connected, with a code that does not prove it ran: a start failure is right.
                    Count(_outcomes, "quick exit without proof of a run reported as a start failure");
                    return true;
                }

                // One race, one outcome: a VMM that came up makes the start succeed, however soon it exits.
                Fail(plan, error is null, () => $"a VMM that comes up must make StartAsync succeed; got {error}");
                break;
        }

        return false;
    }

    private async Task CheckDeathAsync(Lifecycle life, string when)
    {
        SoakPlan plan = life.Plan;
        IVirtualMachine vm = life.Vm;
        Task<DeathReason> death = vm.WaitForDeathAsync();
        if (await RecordAsync(death) is { } error)
        {
            Fail(plan, false, () => $"WaitForDeathAsync {when} ended with {error}");
            return;
        }

        DeathReason reason = death.Result;
        Count(_outcomes, "death: " + reason);
        Fail(plan, vm.State == VirtualMachineState.Dead && vm.DeathReason == reason,
            () => $"after WaitForDeathAsync ({reason}) the VM reads {vm.State}/{vm.DeathReason}");
        CheckReason(life, reason);

        // Callbacks registered from OnDied join the list while it is walked: walk it by index.
        for (int i = 0; i < life.Callbacks.Count; i++)
        {
            SoakCallback callback = life.Callbacks.ElementAt(i);
            if (callback.Mode == CallbackMode.UnregisteredBeforeStart)
            {
                Fail(plan, callback.DiedCount == 0, () => $"a callback unregistered before the start got OnDied {callback.DiedCount} time(s)");
                continue;
            }

            // WaitForDeathAsync completes after every OnDied returned, but a callback registered from OnDied (on a dead
            // VM) gets its own OnDied later: wait for each.
            if (await RecordAsync(callback.Died) is { } notDelivered)
            {
                Fail(plan, false, () => $"OnDied ({callback.Mode}) never arrived: {notDelivered.GetType().Name}");
                continue;
            }

            Fail(plan, callback.Died.Result == reason, () => $"OnDied ({callback.Mode}) said {callback.Died.Result}, WaitForDeathAsync said {reason}");
            Fail(plan, callback.StateInOnDied == VirtualMachineState.Dead, () => $"OnDied ({callback.Mode}) saw the VM {callback.StateInOnDied}, not Dead");
            if (callback.Started is { } started)
            {
                Exception? failed = await RecordAsync(started);
                Fail(plan, failed is null, () => $"{callback.Mode} started from OnDied did not complete: {failed}");
                if (failed is null && started is Task<DeathReason> waited)
                {
                    Fail(plan, waited.Result == reason, () => $"WaitForDeathAsync started from OnDied said {waited.Result}, not {reason}");
                }
            }

            if (callback.RegisterRejected is { } rejected)
            {
                Fail(plan, rejected is ObjectDisposedException, () => $"RegisterCallback from OnDied threw {rejected}");
            }
        }

        // Checked last, so a duplicate delivery had every chance to show up.
        foreach (SoakCallback callback in life.Callbacks.ToArray().Where(c => c.Mode != CallbackMode.UnregisteredBeforeStart))
        {
            Fail(plan, callback.DiedCount == 1, () => $"OnDied ({callback.Mode}) arrived {callback.DiedCount} times, not once");
        }
    }

    private void CheckReason(Lifecycle life, DeathReason reason)
    {
        SoakPlan plan = life.Plan;
        Fail(plan, reason != DeathReason.Unknown, () => "the death reason is Unknown");
        if (!plan.Unperturbed)
        {
            return;
        }

        DeathReason? expected = plan.Behaviour switch
        {
            VmmBehaviour.FailsAtStart or VmmBehaviour.NeverComesUp => DeathReason.StartFailed,
            VmmBehaviour.DiesBySignal => DeathReason.Error,
            VmmBehaviour.ExitsByItself or VmmBehaviour.ComesUpAndExitsAtOnce => NaturalReason(plan.ExitCode),
            _ => null,
        };
        if (expected is { } exact)
        {
            if (life.StartTimedOutUnderLoad && reason == DeathReason.StartFailed)
            {
                return;
            }

            Fail(plan, reason == exact, () => $"the VMM decided this death ({exact}), but the reason is {reason}");
            return;
        }

        // Runs until stopped: the ending kills it (Killed) or stops it (Shutdown, or Killed once the grace period ran out).
        DeathReason[] allowed = plan.Ending == SoakEnding.StopThenDispose && !plan.IgnoresStopAndTerm
            ? [DeathReason.Shutdown, DeathReason.Killed]
            : plan.Ending == SoakEnding.LeftToServiceDispose && !plan.IgnoresStopAndTerm ? [DeathReason.Shutdown, DeathReason.Killed] : [DeathReason.Killed];
        Fail(plan, allowed.Contains(reason), () => $"a VM that runs until stopped died {reason}; expected one of {string.Join("/", allowed)}");
        if (plan.Ending == SoakEnding.StopThenDispose && !plan.IgnoresStopAndTerm)
        {
            Count(_outcomes, reason == DeathReason.Shutdown ? "graceful stop: shut down" : "graceful stop: killed after the grace period (load)");
        }
    }

    private void TrackPid(SoakWorld h, IVirtualMachine vm)
    {
        if (h.Service.DebugListVms().FirstOrDefault(i => i.Cid == vm.Cid)?.ProcessId is { } pid)
        {
            _processes.Track(pid);
        }
    }

    /// <summary>Remembers every helper pid the service reports, including those of VMs that die within a few ms.</summary>
    private async Task SampleHelperPidsAsync(VirtualizationService service, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(2));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                foreach (VirtualMachineDebugInfo info in service.DebugListVms())
                {
                    if (info.ProcessId is { } pid)
                    {
                        _processes.Track(pid);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void CheckNothingLeaked(SoakWorld h)
    {
        string vms = h.Options.TemporaryDirectory;
        string[] folders = Directory.Exists(vms) ? Directory.GetDirectories(vms) : [];
        Fail(null, folders.Length == 0, () => $"{folders.Length} VM folder(s) left: {string.Join(", ", folders.Take(5))}");
        Fail(null, h.Service.HeldCidCount == 0, () => $"{h.Service.HeldCidCount} CID(s) still held");
        Fail(null, h.Service.DebugListVms().Count == 0, () => $"{h.Service.DebugListVms().Count} VM(s) still listed");
        IReadOnlyList<int> helpers = _processes.AliveHelpers();
        Fail(null, helpers.Count == 0, () => $"{helpers.Count} VMM helper process(es) alive: {string.Join(", ", helpers.Take(10))}");
        IReadOnlyList<string> sessions = _processes.AliveInHelperSessions();
        Fail(null, sessions.Count == 0, () => $"{sessions.Count} process(es) alive in VMM sessions: {string.Join("; ", sessions.Take(10))}");
        IReadOnlyList<string> mentioning = SoakProcesses.AliveMentioning(h.Root);
        Fail(null, mentioning.Count == 0, () => $"{mentioning.Count} process(es) alive running this soak's VMs: {string.Join("; ", mentioning.Take(10))}");
        Count(_outcomes, $"helper processes tracked: {_processes.Count}");
    }

    private async Task CheckCountsSettleAsync(int fdsBefore, int threadsBefore)
    {
        // Descriptors close and pool threads retire asynchronously: give them a moment (polling, no fixed sleep).
        bool fdsOk = await ProcessProbe.WaitUntilAsync(() => ProcessProbe.OpenFileDescriptors() <= fdsBefore + 8, TimeSpan.FromSeconds(10));
        bool threadsOk = await ProcessProbe.WaitUntilAsync(() => ProcessProbe.Threads() <= threadsBefore + 24, TimeSpan.FromSeconds(30));
        int fds = ProcessProbe.OpenFileDescriptors();
        int threads = ProcessProbe.Threads();
        Count(_outcomes, $"descriptors before/after: {fdsBefore}/{fds}");
        Count(_outcomes, $"threads before/after: {threadsBefore}/{threads}");
        Fail(null, fdsOk, () => $"open descriptors grew from {fdsBefore} to {fds}");
        Fail(null, threadsOk, () => $"threads grew from {threadsBefore} to {threads}");
    }

    private void WriteSummary(int lifecycles, TimeSpan lifecyclesTook, TimeSpan took, CpuTime cpu)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture,
            $"{lifecycles} lifecycles in {lifecyclesTook.TotalSeconds:0.0} s ({lifecycles / lifecyclesTook.TotalSeconds:0} per second), "
            + $"{took.TotalSeconds:0.0} s with the service's dispose; seed {_seed}; {_failures.Count} failure(s); {Environment.ProcessorCount} CPUs, "
            + $"load average before/after {cpu.LoadBefore}/{CpuTime.LoadAverage()}");
        text.AppendLine(CultureInfo.InvariantCulture,
            $"CPU used: this process {cpu.Self.TotalSeconds:0.0} s, its VMM processes (helpers, stubs, stop commands) {cpu.Children.TotalSeconds:0.0} s");
        text.AppendLine("| fault injected | lifecycles |");
        text.AppendLine("| --- | ---: |");
        foreach ((string kind, int count) in _faults.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| {kind} | {count} |");
        }

        text.AppendLine();
        text.AppendLine("| outcome | count |");
        text.AppendLine("| --- | ---: |");
        foreach ((string kind, int count) in _outcomes.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| {kind} | {count} |");
        }

        output.WriteLine(text.ToString());
        int timeouts = _outcomes.GetValueOrDefault("start timed out on a VMM that comes up (load)");
        Fail(null, timeouts <= Math.Max(2, lifecycles / 100), () => $"{timeouts} starts of VMMs that come up ran into StartTimeout: more than load explains");
    }

    /// <summary>The soak's private folder and service.</summary>
    private sealed class SoakWorld(string root, VirtualizationServiceOptions options, VirtualizationService service)
    {
        public string Root { get; } = root;

        public VirtualizationServiceOptions Options { get; } = options;

        public VirtualizationService Service { get; } = service;

        public string Kernel(StubScenario scenario) => scenario.WriteKernel(Path.Combine(Root, $"kernel-{Guid.NewGuid():N}"));
    }

    /// <summary>CPU time of this process and of its reaped children (/proc/self/stat utime, stime, cutime, cstime).</summary>
    private readonly record struct CpuTime(TimeSpan Self, TimeSpan Children, string LoadBefore)
    {
        public static CpuTime Now()
        {
            string text = File.ReadAllText("/proc/self/stat");
            string[] f = text[(text.LastIndexOf(')') + 2)..].Split(' ');
            static TimeSpan Ticks(string a, string b) =>
                TimeSpan.FromSeconds((long.Parse(a, CultureInfo.InvariantCulture) + long.Parse(b, CultureInfo.InvariantCulture)) / 100.0);
            return new CpuTime(Ticks(f[11], f[12]), Ticks(f[13], f[14]), LoadAverage());
        }

        public static string LoadAverage() => File.ReadAllText("/proc/loadavg").Split(' ')[0];

        public static CpuTime operator -(CpuTime a, CpuTime b) => new(a.Self - b.Self, a.Children - b.Children, b.LoadBefore);
    }

    /// <summary>One VM's lifecycle: its plan, the VM and the callbacks registered on it.</summary>
    private sealed class Lifecycle(SoakPlan plan, IVirtualMachine vm)
    {
        public SoakPlan Plan { get; } = plan;

        public IVirtualMachine Vm { get; } = vm;

        public ConcurrentQueue<SoakCallback> Callbacks { get; } = new();

        public bool StartTimedOutUnderLoad { get; set; }
    }

    /// <summary>A callback that does its mode's thing in OnDied, and counts its deliveries.</summary>
    private sealed class SoakCallback(Lifecycle life, CallbackMode mode, ChaosSoakTests soak) : IVirtualMachineCallback
    {
        private readonly TaskCompletionSource<DeathReason> _died = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _diedCount;

        public CallbackMode Mode => mode;

        public Task<DeathReason> Died => _died.Task;

        public int DiedCount => Volatile.Read(ref _diedCount);

        public VirtualMachineState StateInOnDied { get; private set; }

        /// <summary>What this callback started from OnDied without waiting (DisposeAsync, StopAsync, WaitForDeathAsync).</summary>
        public Task? Started { get; private set; }

        public Exception? RegisterRejected { get; private set; }

        public void OnDied(int cid, DeathReason reason)
        {
            Interlocked.Increment(ref _diedCount);
            StateInOnDied = life.Vm.State;
            try
            {
                switch (mode)
                {
                    case CallbackMode.Throws:
                        throw new InvalidOperationException("soak: a callback that throws");
                    case CallbackMode.DisposesVm:
                        Started = life.Vm.DisposeAsync().AsTask();
                        break;
                    case CallbackMode.StopsVm:
                        Started = life.Vm.StopAsync();
                        break;
                    case CallbackMode.KillsVm:
                        life.Vm.Kill();
                        break;
                    case CallbackMode.StartsWaitForDeath:
                        // Documented: it completes only after OnDied returned, so start it and do not wait here.
                        Started = life.Vm.WaitForDeathAsync();
                        break;
                    case CallbackMode.RegistersAnother:
                        var another = new SoakCallback(life, CallbackMode.Records, soak);
                        try
                        {
                            life.Vm.RegisterCallback(another);
                            life.Callbacks.Enqueue(another);
                        }
                        catch (Exception e)
                        {
                            RegisterRejected = e;
                        }

                        break;
                    default:
                        break;
                }
            }
            finally
            {
                _died.TrySetResult(reason);
            }
        }
    }
}
