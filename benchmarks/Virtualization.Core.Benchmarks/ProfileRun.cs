using System.Diagnostics;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Virtualization.Core.Vmm;
using static Virtualization.Core.Benchmarks.Measure;

namespace Virtualization.Core.Benchmarks;

/// <summary>
/// <c>--profile</c>: where a lifecycle's time goes. Runs sequential lifecycles with timestamps between the phases,
/// interleaving three ways of doing it so that load changes hit all three alike:
/// <list type="number">
/// <item>the library (public API), timed between calls, <c>OnDied</c> stamped inside the callback;</item>
/// <item>the library's process layer alone (<c>VmmChildProcess</c>, internal): launch (spawn thread,
/// <c>Process.Start</c> of vcore-exec, handshake, pidfd, go byte), the stub's socket appearing (tight poll), kill →
/// pidfd readable → exit code and stderr drained;</item>
/// <item>the floors: B (bare stub) and D (stub under vcore-exec, <see cref="RawHelperHost"/>), split the same way.</item>
/// </list>
/// Prints medians (and p90) per phase in ms.
/// </summary>
internal static class ProfileRun
{
    public static async Task<int> RunAsync(string[] args)
    {
        int at = Array.IndexOf(args, "--count");
        int count = at >= 0 && at + 1 < args.Length ? Int(args[at + 1]) : 300;
        Console.WriteLine($"# --profile: {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm:ss} UTC, load {Load()}, {count} rounds");

        using var temp = new BenchTemp("prof", BenchTemp.Tmpfs);
        using var stubFolder = new BenchTemp("stub");
        using var helperHost = new RawHelperHost();
        string stub = StubVmm.Compile(stubFolder.Path);
        string socket = temp.Combine("p.sock");
        var config = new VirtualMachineRawConfig { Kernel = temp.File("vmlinuz", 4096), Params = "console=ttyS0 quiet" };
        await using var service = new VirtualizationService(new VirtualizationServiceOptions
        {
            Vmm = VmmKind.Crosvm,
            CrosvmPath = stub,
            TemporaryDirectory = temp.Folder("vms"),
            CidNamespace = "bench-" + Guid.NewGuid().ToString("N"),
            FirstGuestCid = 10,
            LastGuestCid = 200,
            StartTimeout = TimeSpan.FromSeconds(10),
        });

        // Each phase is a wall-clock span, or a pair (ran on a CPU, waited on a run queue) from schedstat.
        var phases = new Dictionary<string, (List<double> First, List<double>? Second)>();
        void Add(string name, double ms, double? second = null)
        {
            if (!phases.TryGetValue(name, out var lists))
            {
                phases[name] = lists = ([], second is null ? null : []);
            }

            lists.First.Add(ms);
            lists.Second?.Add(second ?? double.NaN);
        }

        void AddSpan(string name, long from, long to) => Add(name, Milliseconds(to - from));

        const int WarmUp = 30;
        for (int round = 0; round < count + WarmUp; round++)
        {
            bool record = round >= WarmUp;

            // 1. Library.
            long t0 = Stopwatch.GetTimestamp();
            IVirtualMachine vm = await service.CreateVmAsync(config);
            long t1 = Stopwatch.GetTimestamp();
            var died = new Stamp();
            using (vm.RegisterCallback(died))
            {
                (double hostRun0, double hostWait0) = SchedStat.OfSelf();
                long t1b = Stopwatch.GetTimestamp();
                await vm.StartAsync();
                long t2a = Stopwatch.GetTimestamp();
                (double hostRun1, double hostWait1) = SchedStat.OfSelf();
                var tree = Tree(service.DebugListVms()[0].ProcessId ?? 0);
                if (record)
                {
                    AddSpan("L2a StartAsync", t1b, t2a);
                    Add("L2b    vcore-exec ran on a CPU / waited on a run queue", tree.HelperRun, tree.HelperWait);
                    Add("L2c    stub ran on a CPU / waited on a run queue", tree.StubRun, tree.StubWait);
                    Add("L2d    host threads ran / waited on a run queue (sums over threads)", hostRun1 - hostRun0, hostWait1 - hostWait0);
                }

                long t2 = Stopwatch.GetTimestamp();
                vm.Kill();
                long t3 = Stopwatch.GetTimestamp();
                await vm.WaitForDeathAsync();
                long t4 = Stopwatch.GetTimestamp();
                await vm.DisposeAsync();
                long t5 = Stopwatch.GetTimestamp();
                if (record)
                {
                    AddSpan("L1 CreateVmAsync", t0, t1);
                    AddSpan("L3 Kill()", t2, t3);
                    AddSpan("L4 Kill() returned → OnDied ran", t3, died.At);
                    AddSpan("L5 OnDied ran → WaitForDeathAsync returned", died.At, t4);
                    AddSpan("L6 DisposeAsync", t4, t5);
                    AddSpan("L  total (schedstat reads excluded)", t0, t5 - (t2 - t2a) - (t1b - t1));
                }
            }

            // 2. Process layer alone.
            File.Delete(socket);
            t0 = Stopwatch.GetTimestamp();
            VmmChildProcess child = await VmmChildProcess.StartAsync(stub, ["run", "--socket", socket], new GuestConsole(null, NullLogger.Instance, NullLogger.Instance, 0), NullLogger.Instance, CancellationToken.None);
            long t1c = Stopwatch.GetTimestamp();
            while (!File.Exists(socket))
            {
                Thread.Yield();
            }

            long t2c = Stopwatch.GetTimestamp();
            var pTree = Tree(child.ProcessId);
            long t2cb = Stopwatch.GetTimestamp();
            child.Kill();
            await child.ProcessExited;
            long t3c = Stopwatch.GetTimestamp();
            await child.Exited;
            long t4c = Stopwatch.GetTimestamp();
            if (record)
            {
                AddSpan("P1 launch: spawn thread, Process.Start(vcore-exec), handshake, pidfd, go", t0, t1c);
                AddSpan("P2 go → stub's socket exists (tight poll)", t1c, t2c);
                Add("P2b    vcore-exec ran / waited (P1 + P2)", pTree.HelperRun, pTree.HelperWait);
                Add("P2c    stub ran / waited (P1 + P2)", pTree.StubRun, pTree.StubWait);
                AddSpan("P3 Kill (SIGTERM via pidfd) → pidfd readable", t2cb, t3c);
                AddSpan("P4 pidfd readable → Exited (reaped, stderr drained, disposed)", t3c, t4c);
                AddSpan("P  total", t0, t4c - (t2cb - t2c));
            }

            // 3a. Floor B: bare stub.
            File.Delete(socket);
            t0 = Stopwatch.GetTimestamp();
            var startInfo = new ProcessStartInfo(stub) { UseShellExecute = false };
            foreach (string a in new[] { "run", "--socket", socket })
            {
                startInfo.ArgumentList.Add(a);
            }

            using (Process bare = Process.Start(startInfo)!)
            {
                long t1b = Stopwatch.GetTimestamp();
                while (!File.Exists(socket))
                {
                    Thread.Yield();
                }

                long t2b = Stopwatch.GetTimestamp();
                (double bRun, double bWait) = SchedStat.Of(bare.Id);
                long t2bb = Stopwatch.GetTimestamp();
                bare.Kill();
                await bare.WaitForExitAsync();
                long t3b = Stopwatch.GetTimestamp();
                if (record)
                {
                    AddSpan("B1 Process.Start(stub) returned", t0, t1b);
                    AddSpan("B2 → socket exists", t1b, t2b);
                    Add("B2b    stub ran / waited (B1 + B2)", bRun, bWait);
                    AddSpan("B3 Kill → WaitForExitAsync", t2bb, t3b);
                    AddSpan("B  total", t0, t3b - (t2bb - t2b));
                }
            }

            // 3b. Floor D: stub under vcore-exec, minimal host.
            File.Delete(socket);
            t0 = Stopwatch.GetTimestamp();
            (Process helper, Socket stderr) = helperHost.Start(stub, ["run", "--socket", socket]);
            using (helper)
            using (stderr)
            {
                long t1d = Stopwatch.GetTimestamp();
                while (!File.Exists(socket))
                {
                    Thread.Yield();
                }

                long t2d = Stopwatch.GetTimestamp();
                var dTree = Tree(helper.Id);
                long t2db = Stopwatch.GetTimestamp();
                Signals.Send(helper.Id, Signals.SIGTERM);
                await helper.WaitForExitAsync();
                long t3d = Stopwatch.GetTimestamp();
                if (record)
                {
                    AddSpan("D1 Process.Start(vcore-exec) + accept + header + go", t0, t1d);
                    AddSpan("D2 go → socket exists", t1d, t2d);
                    Add("D2b    vcore-exec ran / waited (D1 + D2)", dTree.HelperRun, dTree.HelperWait);
                    Add("D2c    stub ran / waited (D1 + D2)", dTree.StubRun, dTree.StubWait);
                    AddSpan("D3 SIGTERM → WaitForExitAsync", t2db, t3d);
                    AddSpan("D  total", t0, t3d - (t2db - t2d));
                }
            }
        }

        Console.WriteLine();
        Console.WriteLine("| Phase (wall clock, or ran / waited from schedstat) | Median (ms) | p10 (ms) | p90 (ms) |");
        Console.WriteLine("|---|---:|---:|---:|");
        foreach ((string name, (List<double> first, List<double>? second)) in phases)
        {
            Console.WriteLine($"| {name} | {Cell(first, 50, second)} | {Cell(first, 10, second)} | {Cell(first, 90, second)} |");
        }

        Console.WriteLine($"\n# done: {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm:ss} UTC, load {Load()}");
        return 0;
    }

    /// <summary>Run and run-queue time (ms) of a helper and of its only child (the stub), from their starts until now.</summary>
    private static (double HelperRun, double HelperWait, double StubRun, double StubWait) Tree(int helper)
    {
        (double helperRun, double helperWait) = SchedStat.Of(helper);
        int[] children = Children(helper);
        (double stubRun, double stubWait) = children.Length == 1 ? SchedStat.Of(children[0]) : (double.NaN, double.NaN);
        return (helperRun, helperWait, stubRun, stubWait);
    }

    private static string Cell(List<double> first, double p, List<double>? second)
    {
        string a = F(Percentile(first.Order().ToArray(), p), "0.000");
        return second is null ? a : a + " / " + F(Percentile(second.Order().ToArray(), p), "0.000");
    }

    private sealed class Stamp : IVirtualMachineCallback
    {
        public long At { get; private set; }

        public void OnDied(int cid, DeathReason reason) => At = Stopwatch.GetTimestamp();
    }
}
