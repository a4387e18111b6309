using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using CsCheck;
using Xunit.Abstractions;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Soak;

/// <summary>
/// Model-based tests of the VM state machine with CsCheck: random sequences of create, start (with or without a
/// cancelled token), stop, kill, dispose, register and unregister callbacks, state reads, the VMM exiting by itself and
/// the service's dispose, over two VM slots whose stub VMMs run normally, ignore stop, or fail at start. The sequential
/// test checks every result exactly against <see cref="LifecycleModel"/>; the concurrent one runs the same operations on
/// several threads and requires the outcome to match some sequential order of them (linearizability), with the
/// "refused" start outcomes merged (see the class remarks) and reads checked by invariants.
/// <para>VCORE_MODEL_ITER overrides the number of iterations, VCORE_MODEL_SEED repeats a failure (CsCheck prints the seed).</para>
/// </summary>
/// <remarks>
/// Why the concurrent test merges InvalidOperationException and ObjectDisposedException of StartAsync into "refused": a
/// start that overlaps Kill, Stop or DisposeAsync may already be past its checks when the VM is killed, and then throws
/// InvalidOperationException ("killed while it was starting") where no sequential order would: either it ran first and
/// succeeded, or it ran after DisposeAsync and threw ObjectDisposedException. Both mean "this start did not happen".
/// For the same reason a start is not atomic: while it runs, a second start is refused, and if it is then killed it is
/// refused too and the VM dies Killed (even one whose VMM would have failed at start): the model allows "refused" (and
/// Killed) for a start on a VM that has not started.
/// State reads are not linearizable by design (a failing start shows Starting to a concurrent reader before Dead): they
/// are checked for DeathReason-iff-Dead and for never going backward, per thread.
/// </remarks>
[Trait("Category", "Model")]
public sealed class LifecycleModelTests(ITestOutputHelper output)
{
    private const int SlotCount = 3;

    [Fact(Timeout = 300_000)]
    public async Task Sequential_RandomOperationSequences_FollowTheStateMachineModelExactly()
    {
        using var run = new ModelRun(output);
        await Task.Run(() => run.Initial(parallel: false).SampleModelBased(
            Operations(),
            Equal,
            seed: run.Seed,
            iter: ModelRun.Iterations(120),
            threads: 2,
            printActual: w => w.ToString(),
            printModel: m => m.ToString(),
            classify: m => string.Join(" ", m.Slots.Select(s => s.Exists ? s.State : "-")) + (m.ServiceDisposed ? " (service disposed)" : string.Empty),
            writeLine: output.WriteLine));
        await run.FinishAsync();
    }

    [Fact(Timeout = 300_000)]
    public async Task Concurrent_RandomOperations_AreLinearizableAgainstTheModel()
    {
        using var run = new ModelRun(output);
        await Task.Run(() => run.Initial(parallel: true).SampleParallel(
            Operations(),
            Equal,
            seed: run.Seed,
            maxSequentialOperations: 4,
            maxParallelOperations: 5,
            iter: ModelRun.Iterations(160),
            threads: 3,
            printActual: w => w.ToString(),
            printModel: m => m.ToString(),
            replay: 1, // A replay would run the operations again on the same (already settled) world.
            writeLine: output.WriteLine));
        await run.FinishAsync();
    }

    private static GenOperation<LifecycleWorld, LifecycleModel>[] Operations()
    {
        Gen<int> slot = Gen.Int[0, SlotCount - 1];
        Gen<(int Slot, bool Cancelled)> slotAndToken = Gen.Select(slot, Gen.Int[0, 3], (s, c) => (s, c == 0));
        Gen<(int Slot, int Code)> slotAndCode = Gen.Select(slot, Gen.OneOf(0, 32, 33, 1), (s, c) => (s, c));
        static string Cancelled(bool cancelled) => cancelled ? ", cancelled token" : string.Empty;
        GenOperation<LifecycleWorld, LifecycleModel> create =
            GenOperation.Create<LifecycleWorld, LifecycleModel, int>(slot, s => $"Create(vm{s})", (w, s) => w.Create(s, $"Create(vm{s})"), (m, s) => m.Create(s, $"Create(vm{s})"));
        GenOperation<LifecycleWorld, LifecycleModel> start = GenOperation.Create<LifecycleWorld, LifecycleModel, (int Slot, bool Cancelled)>(
            slotAndToken,
            t => $"Start(vm{t.Slot}{Cancelled(t.Cancelled)})",
            (w, t) => w.Start(t.Slot, t.Cancelled, $"Start(vm{t.Slot}{Cancelled(t.Cancelled)})"),
            (m, t) => m.Start(t.Slot, t.Cancelled, $"Start(vm{t.Slot}{Cancelled(t.Cancelled)})"));
        GenOperation<LifecycleWorld, LifecycleModel> stop = GenOperation.Create<LifecycleWorld, LifecycleModel, (int Slot, bool Cancelled)>(
            slotAndToken,
            t => $"Stop(vm{t.Slot}{Cancelled(t.Cancelled)})",
            (w, t) => w.Stop(t.Slot, t.Cancelled, $"Stop(vm{t.Slot}{Cancelled(t.Cancelled)})"),
            (m, t) => m.Stop(t.Slot, $"Stop(vm{t.Slot}{Cancelled(t.Cancelled)})"));
        GenOperation<LifecycleWorld, LifecycleModel> kill =
            GenOperation.Create<LifecycleWorld, LifecycleModel, int>(slot, s => $"Kill(vm{s})", (w, s) => w.Kill(s, $"Kill(vm{s})"), (m, s) => m.Kill(s, $"Kill(vm{s})"));
        GenOperation<LifecycleWorld, LifecycleModel> dispose =
            GenOperation.Create<LifecycleWorld, LifecycleModel, int>(slot, s => $"Dispose(vm{s})", (w, s) => w.Dispose(s, $"Dispose(vm{s})"), (m, s) => m.Dispose(s, $"Dispose(vm{s})"));
        GenOperation<LifecycleWorld, LifecycleModel> register =
            GenOperation.Create<LifecycleWorld, LifecycleModel, int>(slot, s => $"Register(vm{s})", (w, s) => w.Register(s, $"Register(vm{s})"), (m, s) => m.Register(s, $"Register(vm{s})"));
        GenOperation<LifecycleWorld, LifecycleModel> unregister =
            GenOperation.Create<LifecycleWorld, LifecycleModel, int>(slot, s => $"Unregister(vm{s})", (w, s) => w.Unregister(s, $"Unregister(vm{s})"), (m, s) => m.Unregister(s, $"Unregister(vm{s})"));
        GenOperation<LifecycleWorld, LifecycleModel> read =
            GenOperation.Create<LifecycleWorld, LifecycleModel, int>(slot, s => $"Read(vm{s})", (w, s) => w.Read(s, $"Read(vm{s})"), (m, s) => m.Read(s, $"Read(vm{s})"));
        GenOperation<LifecycleWorld, LifecycleModel> vmmExit = GenOperation.Create<LifecycleWorld, LifecycleModel, (int Slot, int Code)>(
            slotAndCode,
            t => $"VmmExit(vm{t.Slot}, {t.Code})",
            (w, t) => w.VmmExit(t.Slot, t.Code, $"VmmExit(vm{t.Slot}, {t.Code})"),
            (m, t) => m.VmmExit(t.Slot, t.Code, $"VmmExit(vm{t.Slot}, {t.Code})"));

        // Disposing the service ends everything, so it is drawn rarely (1 in 10 of these; a read of every VM otherwise).
        GenOperation<LifecycleWorld, LifecycleModel> disposeServiceRarely = GenOperation.Create<LifecycleWorld, LifecycleModel, int>(
            Gen.Int[0, 9],
            n => n == 0 ? "DisposeService" : "ReadAll",
            (w, n) =>
            {
                if (n == 0)
                {
                    w.DisposeService("DisposeService");
                }
                else
                {
                    Enumerable.Range(0, SlotCount).ToList().ForEach(s => w.Read(s, $"Read(vm{s})"));
                }
            },
            (m, n) =>
            {
                if (n == 0)
                {
                    m.DisposeService("DisposeService");
                }
                else
                {
                    Enumerable.Range(0, SlotCount).ToList().ForEach(s => m.Read(s, $"Read(vm{s})"));
                }
            });

        // Repeats weight the draw: starts and the VMM's own exits matter most.
        return [create, start, start, start, stop, kill, dispose, register, register, unregister, read, vmmExit, vmmExit, disposeServiceRarely];
    }

    /// <summary>The real world matches the model: the same results, the same final state, OnDied as owed, no invariant broken.</summary>
    private static bool Equal(LifecycleWorld world, LifecycleModel model)
    {
        LifecycleWorld.Snapshot actual = world.Settle();
        if (actual.Violations.Length > 0)
        {
            return false;
        }

        bool results = model.Parallel
            ? Pairs(actual.Results, model.Results, (a, m) => a.Op == m.Op && Allows(m.Result, a.Result))
            : actual.Results.Length == model.Results.Count
                && actual.Results.Zip(model.Results).All(p => p.First.Op == p.Second.Op && Allows(p.Second.Result, p.First.Result));
        if (!results)
        {
            return false;
        }

        for (int i = 0; i < SlotCount; i++)
        {
            LifecycleWorld.VmSnapshot vm = actual.Vms[i];
            VmModel expected = model.Slots[i];
            if (vm.Exists != expected.Exists)
            {
                return false;
            }

            if (!vm.Exists)
            {
                continue;
            }

            // A VM whose VMM may have exited on cue (concurrent test) may also read Dead with that reason.
            bool maybeExited = expected.Phase == ModelPhase.Running && expected.PendingExit.Length > 0
                && vm.State == nameof(VirtualMachineState.Dead) && vm.Reason is not null && expected.PendingExit.Contains(vm.Reason);
            bool reason = maybeExited || (expected.Phase == ModelPhase.Dead ? vm.Reason is not null && expected.Reasons.Contains(vm.Reason) : vm.Reason is null);
            string[] owed = [.. expected.Registrations.Select(r => r.Expected)];
            bool onDied = model.Parallel
                ? Pairs(vm.OnDiedCounts, owed, (count, allowed) => Allows(allowed, count.ToString(CultureInfo.InvariantCulture)))
                : vm.OnDiedCounts.Length == owed.Length && vm.OnDiedCounts.Zip(owed).All(p => Allows(p.Second, p.First.ToString(CultureInfo.InvariantCulture)));
            if ((vm.State != expected.State && !maybeExited) || !reason || vm.Listed == expected.Disposed || !onDied)
            {
                return false;
            }
        }

        return true;
    }

    private static bool Allows(string alternatives, string value) => alternatives.Split('|').Contains(value);

    /// <summary>Whether every actual item pairs with its own expected item (a small backtracking matching).</summary>
    private static bool Pairs<TA, TM>(IReadOnlyList<TA> actual, IReadOnlyList<TM> expected, Func<TA, TM, bool> fits)
    {
        if (actual.Count != expected.Count)
        {
            return false;
        }

        var used = new bool[expected.Count];
        bool Match(int i)
        {
            if (i == actual.Count)
            {
                return true;
            }

            for (int j = 0; j < expected.Count; j++)
            {
                if (!used[j] && fits(actual[i], expected[j]))
                {
                    used[j] = true;
                    if (Match(i + 1))
                    {
                        return true;
                    }

                    used[j] = false;
                }
            }

            return false;
        }

        return Match(0);
    }

    /// <summary>One test's worlds: their shared folder, and the clean-up and coverage count at the end.</summary>
    private sealed class ModelRun(ITestOutputHelper output) : IDisposable
    {
        private readonly TempDir _temp = new("vct-model-");
        private readonly ConcurrentBag<LifecycleWorld> _worlds = [];
        private readonly string _cidNamespace = "model-" + Guid.NewGuid().ToString("N");

        public string? Seed { get; } = Environment.GetEnvironmentVariable("VCORE_MODEL_SEED") is { Length: > 0 } seed ? seed : null;

        public static long Iterations(long byDefault) =>
            long.TryParse(Environment.GetEnvironmentVariable("VCORE_MODEL_ITER"), CultureInfo.InvariantCulture, out long n) && n > 0 ? n : byDefault;

        public Gen<(LifecycleWorld, LifecycleModel)> Initial(bool parallel) =>
            Gen.Select(Gen.Int[0, 2].Array[SlotCount], Gen.Int[0, 3].Array[SlotCount], (b, c) =>
            {
                ModelBehaviour[] behaviours = [.. b.Select(x => (ModelBehaviour)x)];
                bool[] created = [.. c.Select(x => x != 0)]; // Most slots start with a VM created, so operations reach it.
                return (new LifecycleWorld(_temp.Path, _cidNamespace, behaviours, created, parallel, _worlds), new LifecycleModel(behaviours, created, parallel));
            });

        /// <summary>Settles the worlds CsCheck left (it does not settle one whose run it abandoned), then checks nothing is left.</summary>
        public async Task FinishAsync()
        {
            var coverage = new SortedDictionary<string, int>(StringComparer.Ordinal);
            foreach (LifecycleWorld world in _worlds)
            {
                LifecycleWorld.Snapshot snapshot = world.Settle();
                foreach ((string op, string result) in snapshot.Results)
                {
                    string key = $"{op.Split('(')[0]} -> {result}";
                    coverage[key] = coverage.GetValueOrDefault(key) + 1;
                }
            }

            var text = new StringBuilder($"{_worlds.Count} worlds with a service; operations by outcome:\n");
            foreach ((string key, int count) in coverage)
            {
                text.Append(CultureInfo.InvariantCulture, $"  {key}: {count}\n");
            }

            text.Append("what the operations met:\n");
            foreach ((string key, int count) in LifecycleWorld.TakeObservations())
            {
                text.Append(CultureInfo.InvariantCulture, $"  {key}: {count}\n");
            }

            output.WriteLine(text.ToString());
            bool gone = await Infrastructure.ProcessProbe.WaitUntilAsync(() => SoakProcesses.AliveMentioning(_temp.Path).Count == 0, TimeSpan.FromSeconds(10));
            gone.Should().BeTrue($"no VMM may outlive its service: {string.Join("; ", SoakProcesses.AliveMentioning(_temp.Path))}");
        }

        public void Dispose()
        {
            foreach (LifecycleWorld world in _worlds)
            {
                world.Settle();
            }

            _temp.Dispose();
        }
    }
}
