using System.Diagnostics;
using Medallion.Shell;
using static Virtualization.Core.Benchmarks.Measure;

namespace Virtualization.Core.Benchmarks;

/// <summary>
/// <c>--scale</c>: many live VMs at once, which BenchmarkDotNet's invoke-and-repeat model does not fit. For each N it
/// brings N stub VMMs up with the library (32 <c>CreateVmAsync</c> + <c>StartAsync</c> in flight) and, as the baseline
/// of the same run, N bare stubs with <c>Process.Start</c>; it reports the rate, and what each live VM (or process)
/// costs this process in managed heap, threads and descriptors. With the N VMs live it measures death latency (SIGKILL
/// of a stub from outside → <c>OnDied</c>, one VM at a time) against <c>Process.WaitForExitAsync</c> of a bare stub. Then MedallionShell
/// against <c>Process.Start</c> for long-lived <c>sleep 60</c> processes. Prints Markdown tables.
/// </summary>
internal static class ScaleRun
{
    private const int InFlight = 32;

    public static async Task<int> RunAsync(string[] args)
    {
        int[] sizes = Option(args, "--sizes", "100,1000").Split(',').Select(Int).ToArray();
        int samples = Int(Option(args, "--samples", "200"));
        int medallionCount = Int(Option(args, "--medallion", "200"));

        Console.WriteLine($"# --scale: {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm:ss} UTC, load {Load()}, {Environment.ProcessorCount} cores, .NET {Environment.Version}");
        using var temp = new BenchTemp("scale", BenchTemp.Tmpfs);
        using var stubFolder = new BenchTemp("stub");
        string stub = StubVmm.Compile(stubFolder.Path);
        var config = new VirtualMachineRawConfig { Kernel = temp.File("vmlinuz", 4096), Params = "console=ttyS0 quiet" };
        string vmRoot = temp.Folder("vms");
        string cidRoot = temp.Folder("cids");
        string rawRoot = temp.Folder("raw");
        VirtualizationServiceOptions Options() => new()
        {
            CrosvmPath = stub,
            TemporaryDirectory = vmRoot,
            CidNamespace = "bench-" + Guid.NewGuid().ToString("N"),
            FirstGuestCid = 10,
            LastGuestCid = 10 + (4 * sizes.Max()) + 100,
            StartTimeout = TimeSpan.FromSeconds(60),
        };

        var rows = new List<string>();
        var latencyRows = new List<string>();
        try
        {
            // Warm-up: JIT and tiering, the spawn thread, the I/O listener, the pidfd watcher, the thread pool.
            for (int round = 0; round < 2; round++)
            {
                await using (var warm = new VirtualizationService(Options()))
                {
                    IVirtualMachine[] vms = new IVirtualMachine[64];
                    await BringUpAsync(warm, config, vms);
                }

                RawStub[] raws = new RawStub[64];
                StartRaw(stub, rawRoot, raws);
                await KillAllAsync(raws);
            }

            foreach (int n in sizes)
            {
                // Death latency at every N (at most half of the VMs below the largest N, so a teardown is left to time).
                int latencySamples = Math.Min(samples, n == sizes.Max() ? n : n / 2);

                // The library first, once idle wait threads are gone: the runtime's wait threads (63 registered waits
                // each) linger for 20 s after their last wait ends and would be reused, hiding the library's.
                await SettleWaitThreadsAsync();
                var service = new VirtualizationService(Options());
                var vms = new IVirtualMachine[n];
                double[] libraryLatencies = [];
                Dictionary<DeathReason, int> reasons = [];
                ProcessSnapshot before;
                ProcessSnapshot after;
                string loadBefore;
                double upMs;
                double downMs;
                int down;
                try
                {
                    before = ProcessSnapshot.Take();
                    loadBefore = Load();
                    long t0 = Stopwatch.GetTimestamp();
                    await BringUpAsync(service, config, vms, dispose: false);
                    upMs = Milliseconds(Stopwatch.GetTimestamp() - t0);
                    after = ProcessSnapshot.Take();
                    (libraryLatencies, reasons) = await LibraryDeathLatencyAsync(service, vms, latencySamples);
                }
                finally
                {
                    // Teardown = DisposeAsync of every live VM at once (Kill, death, cleanup). Not the service's
                    // DisposeAsync: that stops gracefully first (`crosvm stop`), which the stub ignores, so it would
                    // time the 5 s StopGracePeriod.
                    down = vms.Count(vm => vm is not null);
                    long t1 = Stopwatch.GetTimestamp();
                    await Task.WhenAll(vms.Where(vm => vm is not null).Select(vm => vm.DisposeAsync().AsTask()));
                    downMs = Milliseconds(Stopwatch.GetTimestamp() - t1);
                    await service.DisposeAsync();
                }

                string libraryRow = Row(n, "**library** (create + start)", upMs, down, downMs, before, after, loadBefore);
                Console.WriteLine($"library {n}: up {F(upMs)} ms, down {F(downMs)} ms; left: {CountProcesses(stub)} stubs, "
                    + $"{CountProcesses(Vmm.NativeHelper.Path)} vcore-exec; children of this process: {Children(Environment.ProcessId).Length}");

                // Baseline: bare stubs.
                var raw = new RawStub[n];
                double[] rawLatencies = [];
                try
                {
                    before = ProcessSnapshot.Take();
                    loadBefore = Load();
                    long t0 = Stopwatch.GetTimestamp();
                    StartRaw(stub, rawRoot, raw);
                    upMs = Milliseconds(Stopwatch.GetTimestamp() - t0);
                    after = ProcessSnapshot.Take();
                    rawLatencies = await RawDeathLatencyAsync(raw, latencySamples);
                }
                finally
                {
                    down = raw.Count(r => r is not null && !r.Exit.IsCompleted);
                    long t1 = Stopwatch.GetTimestamp();
                    await KillAllAsync(raw);
                    downMs = Milliseconds(Stopwatch.GetTimestamp() - t1);
                }

                rows.Add(Row(n, "`Process.Start` stubs (baseline)", upMs, down, downMs, before, after, loadBefore));
                rows.Add(libraryRow);
                Array.Clear(raw);
                Console.WriteLine($"raw {n}: up {F(upMs)} ms, down {F(downMs)} ms; left: {CountProcesses(stub)} stub processes");
                latencyRows.Add(LatencyRow("`Process.WaitForExitAsync` of a bare stub (baseline)", n, rawLatencies, null));
                latencyRows.Add(LatencyRow("**library**: `OnDied`", n, libraryLatencies, reasons));
            }
        }
        finally
        {
            Console.WriteLine($"after the VM phases: {CountProcesses(stub)} stub processes left");
        }

        List<string> medallionRows = await MedallionVersusProcessAsync(medallionCount);

        Console.WriteLine();
        Console.WriteLine("| N | What | Up (ms) | Rate (/s) | Teardown, ms (of how many) | Heap Δ per live VM (B) | Fds Δ per live VM | Threads before → after (pool workers, wait threads) | Fds before → after | Load before |");
        Console.WriteLine("|---:|---|---:|---:|---:|---:|---:|---|---|---|");
        rows.ForEach(Console.WriteLine);
        Console.WriteLine();
        Console.WriteLine("| Live VMs | What | Samples | p50 (ms) | p90 (ms) | p99 (ms) | Max (ms) | Mean (ms) | Reasons |");
        Console.WriteLine("|---:|---|---:|---:|---:|---:|---:|---:|---|");
        latencyRows.ForEach(Console.WriteLine);
        Console.WriteLine();
        Console.WriteLine("| N = sleep 60 | How | Start (ms) | Heap Δ per process (B) | Fds Δ per process | Threads before → after (pool workers, wait threads) | Load before |");
        Console.WriteLine("|---:|---|---:|---:|---:|---|---|");
        medallionRows.ForEach(Console.WriteLine);
        Console.WriteLine($"\n# done: {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm:ss} UTC, load {Load()}");
        return 0;
    }

    private static async Task SettleWaitThreadsAsync()
    {
        long started = Stopwatch.GetTimestamp();
        while (ProcessSnapshot.CountThreads(".NET TP Wait") > 0 && Milliseconds(Stopwatch.GetTimestamp() - started) < 30_000)
        {
            await Task.Delay(1000); // The runtime retires idle wait threads on its own timer; there is no event to wait on.
        }

        Console.WriteLine($"settled in {F(Milliseconds(Stopwatch.GetTimestamp() - started) / 1000, "0.0")} s: {ProcessSnapshot.CountThreads(".NET TP Wait")} wait threads");
    }

    /// <summary>Creates and starts <c>vms.Length</c> VMs, <see cref="InFlight"/> at a time; optionally disposes them.</summary>
    private static async Task BringUpAsync(VirtualizationService service, VirtualMachineRawConfig config, IVirtualMachine[] vms, bool dispose = true)
    {
        int next = -1;
        async Task WorkerAsync()
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < vms.Length)
            {
                IVirtualMachine vm = await service.CreateVmAsync(config);
                vms[i] = vm;
                await vm.StartAsync();
            }
        }

        await Task.WhenAll(Enumerable.Range(0, InFlight).Select(_ => Task.Run(WorkerAsync)));
        if (dispose)
        {
            await Task.WhenAll(vms.Select(vm => vm.DisposeAsync().AsTask()));
        }
    }

    /// <summary>
    /// Kills <paramref name="samples"/> stubs from outside (SIGKILL, one at a time) and measures the time until
    /// <c>OnDied</c> runs; each VM's death (cleanup included) completes before the next kill.
    /// </summary>
    private static async Task<(double[] Latencies, Dictionary<DeathReason, int> Reasons)> LibraryDeathLatencyAsync(
        VirtualizationService service, IVirtualMachine[] vms, int samples)
    {
        Dictionary<int, int?> helperByCid = service.DebugListVms().ToDictionary(d => d.Cid, d => d.ProcessId);
        var latencies = new double[Math.Min(samples, vms.Length)];
        var reasons = new Dictionary<DeathReason, int>();
        for (int s = 0; s < latencies.Length; s++)
        {
            IVirtualMachine vm = vms[s];
            int helper = helperByCid[vm.Cid] ?? throw new InvalidOperationException($"VM {vm.Cid} has no process.");
            int[] children = Children(helper);
            if (children.Length != 1)
            {
                throw new InvalidOperationException($"vcore-exec {helper} has {children.Length} children; expected the stub alone.");
            }

            var died = new StampCallback();
            using (vm.RegisterCallback(died))
            {
                long t0 = Stopwatch.GetTimestamp();
                Signals.Send(children[0], Signals.SIGKILL);
                DeathReason reason = await died.Died.WaitAsync(TimeSpan.FromSeconds(30));
                latencies[s] = Milliseconds(died.Stamp - t0);
                reasons[reason] = reasons.GetValueOrDefault(reason) + 1;
            }

            await vm.WaitForDeathAsync();
            await vm.DisposeAsync();
            vms[s] = null!;
        }

        return (latencies, reasons);
    }

    private static async Task<double[]> RawDeathLatencyAsync(RawStub[] raw, int samples)
    {
        var latencies = new double[Math.Min(samples, raw.Length)];
        for (int s = 0; s < latencies.Length; s++)
        {
            long stamp = 0;
            Task observed = raw[s].Exit.ContinueWith(
                _ => Volatile.Write(ref stamp, Stopwatch.GetTimestamp()), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            long t0 = Stopwatch.GetTimestamp();
            Signals.Send(raw[s].Process.Id, Signals.SIGKILL);
            await observed.WaitAsync(TimeSpan.FromSeconds(30));
            latencies[s] = Milliseconds(Volatile.Read(ref stamp) - t0);
        }

        return latencies;
    }

    /// <summary>
    /// Starts one bare stub per slot (no redirection, exit observed with <c>WaitForExitAsync</c>), then waits until every
    /// socket exists. <c>Process.Start</c> is synchronous (the runtime serializes forks), so starting from one thread
    /// while the stubs come up in parallel is the fastest way to have them all up.
    /// </summary>
    private static void StartRaw(string stub, string folder, RawStub[] slots)
    {
        var sockets = new string[slots.Length];
        for (int i = 0; i < slots.Length; i++)
        {
            sockets[i] = Path.Combine(folder, $"raw-{i}.sock");
            File.Delete(sockets[i]);
            var startInfo = new ProcessStartInfo(stub) { UseShellExecute = false };
            startInfo.ArgumentList.Add("run");
            startInfo.ArgumentList.Add("--socket");
            startInfo.ArgumentList.Add(sockets[i]);
            Process process = Process.Start(startInfo) ?? throw new InvalidOperationException("The stub did not start.");
            slots[i] = new RawStub(process, process.WaitForExitAsync());
        }

        for (int i = 0; i < slots.Length; i++)
        {
            while (!File.Exists(sockets[i]))
            {
                if (slots[i].Exit.IsCompleted)
                {
                    throw new InvalidOperationException($"Stub {i} exited with {slots[i].Process.ExitCode} before binding its socket.");
                }

                Thread.Yield();
            }
        }
    }

    private static async Task KillAllAsync(RawStub[] slots)
    {
        foreach (RawStub slot in slots)
        {
            if (slot is not null && !slot.Exit.IsCompleted)
            {
                try
                {
                    slot.Process.Kill();
                }
                catch (InvalidOperationException)
                {
                    // Exited meanwhile.
                }
            }
        }

        foreach (RawStub slot in slots)
        {
            if (slot is not null)
            {
                await slot.Exit;
                slot.Process.Dispose();
            }
        }
    }

    /// <summary>N <c>sleep 60</c> processes started with <c>Process.Start</c> and with MedallionShell, as the old code ran VMMs.</summary>
    private static async Task<List<string>> MedallionVersusProcessAsync(int n)
    {
        var rows = new List<string>();

        // Warm-up of both paths.
        for (int i = 0; i < 8; i++)
        {
            (Process p, Task exit) = StartSleep();
            p.Kill();
            await exit;
            p.Dispose();
            (Command c, Task pump) = RunSleep();
            c.Kill();
            await c.Task;
            await pump;
        }

        var processes = new (Process Process, Task Exit)[n];
        ProcessSnapshot before = ProcessSnapshot.Take();
        string load = Load();
        long t0 = Stopwatch.GetTimestamp();
        for (int i = 0; i < n; i++)
        {
            processes[i] = StartSleep();
        }

        double startMs = Milliseconds(Stopwatch.GetTimestamp() - t0);
        ProcessSnapshot after = ProcessSnapshot.Take();
        foreach ((Process p, _) in processes)
        {
            p.Kill();
        }

        foreach ((Process p, Task exit) in processes)
        {
            await exit;
            p.Dispose();
        }

        rows.Add(SleepRow(n, "`Process.Start`, no redirection, `WaitForExitAsync` (baseline)", startMs, before, after, load));
        Array.Clear(processes);

        var commands = new (Command Command, Task Pump)[n];
        before = ProcessSnapshot.Take();
        load = Load();
        t0 = Stopwatch.GetTimestamp();
        for (int i = 0; i < n; i++)
        {
            commands[i] = RunSleep();
        }

        startMs = Milliseconds(Stopwatch.GetTimestamp() - t0);
        after = ProcessSnapshot.Take();
        foreach ((Command c, _) in commands)
        {
            c.Kill();
        }

        foreach ((Command c, Task pump) in commands)
        {
            await c.Task;
            await pump;
        }

        rows.Add(SleepRow(n, "MedallionShell `Command.Run` (stdin closed, `StopBuffering` on both, stdout `Discard`, stderr read by line)", startMs, before, after, load));
        Console.WriteLine($"sleep processes left: {CountProcesses("sleep")} (any user's `sleep`, by argv[0])");
        return rows;
    }

    private static (Process Process, Task Exit) StartSleep()
    {
        var startInfo = new ProcessStartInfo("sleep") { UseShellExecute = false };
        startInfo.ArgumentList.Add("60");
        Process process = Process.Start(startInfo) ?? throw new InvalidOperationException("sleep did not start.");
        return (process, process.WaitForExitAsync());
    }

    /// <summary>The way the library ran a VMM before vcore-exec: every stream redirected, output unbuffered and drained.</summary>
    private static (Command Command, Task Pump) RunSleep()
    {
        Command command = Command.Run("sleep", ["60"], options => options.ThrowOnError(false).DisposeOnExit(true));
        command.StandardInput.Dispose();
        command.StandardOutput.StopBuffering();
        command.StandardError.StopBuffering();
        command.StandardOutput.Discard();
        return (command, PumpLinesAsync(command));
    }

    private static async Task PumpLinesAsync(Command command)
    {
        while (await command.StandardError.ReadLineAsync() is not null)
        {
        }
    }

    private static string Row(int n, string what, double upMs, int down, double downMs, ProcessSnapshot before, ProcessSnapshot after, string load) =>
        Threads(n, what, before, after) + $"| {I(n)} | {what} | {F(upMs, "0")} | {F(n / (upMs / 1000), "0")} | {F(downMs, "0")} ({I(down)}) | {I((after.Heap - before.Heap) / n)} | "
        + $"{F((after.Fds - before.Fds) / (double)n)} | {before.Threads} ({before.PoolWorkers}, {before.Named(".NET TP Wait")}) → {after.Threads} ({after.PoolWorkers}, {after.Named(".NET TP Wait")}) | "
        + $"{before.Fds} → {after.Fds} | {load} |";

    private static string SleepRow(int n, string what, double startMs, ProcessSnapshot before, ProcessSnapshot after, string load) =>
        Threads(n, what, before, after) + $"| {n} | {what} | {F(startMs, "0")} | {I((after.Heap - before.Heap) / n)} | {F((after.Fds - before.Fds) / (double)n)} | "
        + $"{before.Threads} ({before.PoolWorkers}, {before.Named(".NET TP Wait")}) → {after.Threads} ({after.PoolWorkers}, {after.Named(".NET TP Wait")}) | {load} |";

    /// <summary>Logs the threads by name before and after; returns an empty string (so it can prefix a row).</summary>
    private static string Threads(int n, string what, ProcessSnapshot before, ProcessSnapshot after)
    {
        Console.WriteLine($"threads, {what}, N = {n}:\n  before: {before.ThreadNames}\n  after:  {after.ThreadNames}");
        return string.Empty;
    }

    private static string LatencyRow(string what, int n, double[] latencies, Dictionary<DeathReason, int>? reasons)
    {
        var (p50, p90, p99, max, mean) = Summarize(latencies);
        string why = reasons is null ? "" : string.Join(", ", reasons.Select(kv => $"{kv.Key} × {kv.Value}"));
        return $"| {I(n)} | {what} | {latencies.Length} | {F(p50, "0.000")} | {F(p90, "0.000")} | {F(p99, "0.000")} | {F(max, "0.000")} | {F(mean, "0.000")} | {why} |";
    }

    private static string Option(string[] args, string name, string fallback)
    {
        int at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : fallback;
    }

    private sealed record RawStub(Process Process, Task Exit);

    /// <summary>Records when <c>OnDied</c> ran (<see cref="Stopwatch.GetTimestamp"/>), inside the callback.</summary>
    private sealed class StampCallback : IVirtualMachineCallback
    {
        private readonly TaskCompletionSource<DeathReason> _died = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public long Stamp { get; private set; }

        public Task<DeathReason> Died => _died.Task;

        public void OnDied(int cid, DeathReason reason)
        {
            Stamp = Stopwatch.GetTimestamp();
            _died.TrySetResult(reason);
        }
    }
}
