using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Soak;

/// <summary>
/// The real thing the <see cref="LifecycleModel"/> describes: one service (created on first use, so that CsCheck can
/// build initial states for free) with a few VM slots over the C stub. Operations block (CsCheck runs them on its own
/// threads) and record their outcome; reads check the invariants that hold at any moment. <see cref="Settle"/> takes
/// the final snapshot once, then disposes the service and checks that nothing is left.
/// </summary>
internal sealed class LifecycleWorld
{
    /// <summary>Longer than any operation may take; reached only by a hang.</summary>
    private static readonly TimeSpan s_hang = TimeSpan.FromSeconds(30);

    private static readonly ConcurrentDictionary<string, int> s_observations = new();
    private static int s_worlds;

    private readonly ModelBehaviour[] _behaviours;
    private readonly string _root;
    private readonly Lazy<VirtualizationService> _service;
    private readonly Lazy<Snapshot> _snapshot;
    private readonly ConcurrentQueue<(string Op, string Result)> _results = new();
    private readonly ConcurrentQueue<string> _violations = new();
    private readonly ConcurrentDictionary<int, int[]> _lastSeen = new(); // By thread: reads must not go backward.

    public LifecycleWorld(string root, string cidNamespace, ModelBehaviour[] behaviours, bool[] created, bool parallel, ConcurrentBag<LifecycleWorld> all)
    {
        _root = root;
        _behaviours = behaviours;
        Parallel = parallel;
        Slots = [.. behaviours.Select(_ => new Slot())];
        _service = new(() =>
        {
            all.Add(this);
            Folder = Path.Combine(_root, "w" + Interlocked.Increment(ref s_worlds).ToString(CultureInfo.InvariantCulture));
            var service = new VirtualizationService(new VirtualizationServiceOptions
            {
                Vmm = VmmKind.Crosvm,
                CrosvmPath = TestPaths.StubVmm,
                TemporaryDirectory = Folder,
                // One CID namespace for all the worlds of a test: their services share the CIDs, like processes on a
                // host (this is how the model test met the bug CidReuseTests pins down).
                CidNamespace = cidNamespace,
                StopGracePeriod = TimeSpan.FromMilliseconds(300),
                StartTimeout = TimeSpan.FromSeconds(20),
            });
            for (int i = 0; i < created.Length; i++)
            {
                if (created[i])
                {
                    Slots[i].Vm = service.CreateVmAsync(new VirtualMachineRawConfig { Kernel = Kernel(i) }).GetAwaiter().GetResult();
                }
            }

            return service;
        });
        _snapshot = new(TakeSnapshot);
    }

    public bool Parallel { get; }

    public Slot[] Slots { get; }

    /// <summary>This world's VM folders' root (set once the service exists).</summary>
    public string? Folder { get; private set; }

    public bool Settled => _snapshot.IsValueCreated;

    private VirtualizationService Service => _service.Value;

    public void Create(int slot, string op)
    {
        _ = Service;
        Slot s = Slots[slot];
        lock (s.Gate)
        {
            if (s.Vm is not null)
            {
                Record(op, "exists");
                return;
            }

            Record(op, Outcome(() => Service.CreateVmAsync(new VirtualMachineRawConfig { Kernel = Kernel(slot) }), vm => s.Vm = vm));
        }
    }

    public void Start(int slot, bool cancelled, string op)
    {
        if (Vm(slot, op) is { } vm)
        {
            string outcome = Outcome(vm.StartAsync(new CancellationToken(cancelled)));
            Record(op, Parallel && outcome is "InvalidOperationException" or "ObjectDisposedException" ? "refused" : outcome);
        }
    }

    public void Stop(int slot, bool cancelled, string op)
    {
        if (Vm(slot, op) is { } vm)
        {
            Record(op, Outcome(vm.StopAsync(new CancellationToken(cancelled))));
        }
    }

    public void Kill(int slot, string op)
    {
        if (Vm(slot, op) is { } vm)
        {
            vm.Kill();
            string right = vm.State == VirtualMachineState.Dead ? "Dead" : vm.State.ToString();
            string death = Outcome(vm.WaitForDeathAsync());
            Record(op, death != "ok" ? death : Parallel ? "ok" : right);
        }
    }

    public void Dispose(int slot, string op)
    {
        if (Vm(slot, op) is { } vm)
        {
            Record(op, Outcome(vm.DisposeAsync().AsTask()));
        }
    }

    public void Register(int slot, string op)
    {
        _ = Service;
        Slot s = Slots[slot];
        lock (s.Gate)
        {
            if (s.Vm is not { } vm)
            {
                Record(op, "novm");
                return;
            }

            var callback = new CountingCallback(vm, Check);
            try
            {
                IDisposable registration = vm.RegisterCallback(callback);
                s.Registrations.Add((callback, registration));
                Record(op, "ok");
            }
            catch (Exception e)
            {
                Record(op, e.GetType().Name);
            }
        }
    }

    public void Unregister(int slot, string op)
    {
        _ = Service;
        Slot s = Slots[slot];
        lock (s.Gate)
        {
            int latest = s.Registrations.FindLastIndex(r => r.Callback.Active);
            if (s.Vm is null)
            {
                Record(op, "novm");
            }
            else if (latest < 0)
            {
                Record(op, "none");
            }
            else
            {
                s.Registrations[latest].Callback.Active = false;
                s.Registrations[latest].Registration.Dispose();
                Record(op, "ok");
            }
        }
    }

    public void Read(int slot, string op)
    {
        if (Vm(slot, op) is not { } vm)
        {
            return;
        }

        // State and DeathReason are two reads; each order gives one check that cannot tear.
        DeathReason? reasonFirst = vm.DeathReason;
        VirtualMachineState stateAfter = vm.State;
        VirtualMachineState state = vm.State;
        DeathReason? reasonAfter = vm.DeathReason;
        Check(reasonFirst is null || stateAfter == VirtualMachineState.Dead, () => $"vm{slot}: DeathReason {reasonFirst} was set while State read {stateAfter}");
        Check(state != VirtualMachineState.Dead || reasonAfter is not null, () => $"vm{slot}: State read Dead but DeathReason was null");
        int[] seen = _lastSeen.GetOrAdd(Environment.CurrentManagedThreadId, _ => new int[Slots.Length]);
        int rank = Rank(stateAfter);
        Check(rank >= seen[slot] && Rank(state) >= rank, () => $"vm{slot}: State went backward ({seen[slot]} then {rank} then {Rank(state)})");
        seen[slot] = Math.Max(rank, Rank(state));
        Observe($"Read saw {state}" + (reasonAfter is { } r ? $" ({r})" : string.Empty));
        Record(op, Parallel ? "read" : $"{state}/{reasonAfter?.ToString() ?? "-"}");
    }

    /// <summary>The VMM exits by itself (on the test's cue) with <paramref name="exitCode"/>, if it is up; waits for the death.</summary>
    public void VmmExit(int slot, int exitCode, string op)
    {
        if (Vm(slot, op) is not { } vm)
        {
            return;
        }

        if (StubControl.SocketOf(Service, vm) is { } socket && StubControl.Send(socket, $"exit {exitCode.ToString(CultureInfo.InvariantCulture)}") is not null)
        {
            Observe("VmmExit: the VMM exited on cue");
            Record(op, Outcome(vm.WaitForDeathAsync()));
            return;
        }

        Observe("VmmExit: no VMM up to tell");
        Record(op, "ok");
    }

    public void DisposeService(string op) => Record(op, Outcome(Service.DisposeAsync().AsTask()));

    /// <summary>What operations met so far (for the coverage table), and starts counting anew.</summary>
    public static SortedDictionary<string, int> TakeObservations()
    {
        var taken = new SortedDictionary<string, int>(s_observations, StringComparer.Ordinal);
        s_observations.Clear();
        return taken;
    }

    /// <summary>The final state, taken once (CsCheck compares it with many candidate linearizations).</summary>
    public Snapshot Settle() => _snapshot.Value;

    public override string ToString() => Settled ? Settle().ToString() : "(not run)";

    private string Kernel(int slot) => new StubScenario
    {
        FailAtStart = _behaviours[slot] == ModelBehaviour.FailsAtStart ? 3 : null,
        IgnoreStop = _behaviours[slot] == ModelBehaviour.IgnoresStop,
    }.WriteKernel(Path.Combine(_root, $"kernel-{Guid.NewGuid():N}"));

    private static int Rank(VirtualMachineState state) => state switch
    {
        VirtualMachineState.NotStarted => 0,
        VirtualMachineState.Dead => 2,
        _ => 1,
    };

    private static string Outcome(Task task) => Outcome(async () => { await task; return 0; }, _ => { });

    private static string Outcome<T>(Func<Task<T>> run, Action<T> done)
    {
        try
        {
            T value = run().WaitAsync(s_hang).GetAwaiter().GetResult();
            done(value);
            return "ok";
        }
        catch (TimeoutException)
        {
            return "HANG";
        }
        catch (Exception e)
        {
            // TaskCanceledException is an OperationCanceledException: the documented type is what counts.
            return e is OperationCanceledException ? nameof(OperationCanceledException) : e.GetType().Name;
        }
    }

    private IVirtualMachine? Vm(int slot, string op)
    {
        _ = Service; // Creates the service and the VMs the initial state has.
        IVirtualMachine? vm = Volatile.Read(ref Slots[slot].Vm);
        if (vm is null)
        {
            Record(op, "novm");
        }

        return vm;
    }

    private static void Observe(string what) => s_observations.AddOrUpdate(what, 1, (_, n) => n + 1);

    private void Record(string op, string result) => _results.Enqueue((op, result));

    private void Check(bool ok, Func<string> what)
    {
        if (!ok)
        {
            _violations.Enqueue(what());
        }
    }

    private Snapshot TakeSnapshot()
    {
        var vms = new List<VmSnapshot>();
        _ = Service; // Even with no operation run, the initial state's VMs exist.
        HashSet<int> listed = [.. Service.DebugListVms().Select(i => i.Cid)];
        foreach (Slot s in Slots)
        {
            lock (s.Gate)
            {
                if (s.Vm is not { } vm)
                {
                    vms.Add(new VmSnapshot(false, "-", null, false, []));
                    continue;
                }

                // An OnDied owed to an active registration on a dead VM is queued, not yet run: wait for each.
                if (vm.State == VirtualMachineState.Dead)
                {
                    foreach ((CountingCallback callback, _) in s.Registrations.Where(r => r.Callback.Active))
                    {
                        Check(callback.Died.Wait(s_hang), () => "OnDied owed to an active registration never arrived");
                    }
                }

                vms.Add(new VmSnapshot(true, vm.State.ToString(), vm.DeathReason?.ToString(), listed.Contains(vm.Cid),
                    [.. s.Registrations.Select(r => r.Callback.Count)]));
            }
        }

        // Then everything goes: the service's dispose must leave no VM folder, CID or process behind.
        Check(Service.DisposeAsync().AsTask().Wait(s_hang), () => "the service's DisposeAsync hung");
        string[] folders = Directory.Exists(Folder) ? Directory.GetDirectories(Folder) : [];
        Check(folders.Length == 0, () => $"VM folders left: {string.Join(", ", folders)}");
        Check(Service.HeldCidCount == 0, () => $"{Service.HeldCidCount} CIDs still held");
        foreach (Slot s in Slots)
        {
            if (s.Vm is { } vm)
            {
                Check(vm.State == VirtualMachineState.Dead, () => $"a VM reads {vm.State} after the service's dispose");
                foreach ((CountingCallback callback, _) in s.Registrations.Where(r => r.Callback.Active))
                {
                    Check(callback.Died.Wait(s_hang) && callback.Count == 1, () => $"an active registration got OnDied {callback.Count} times in all");
                }
            }
        }

        return new Snapshot([.. _results], [.. _violations], vms);
    }

    internal sealed class Slot
    {
#pragma warning disable SA1401, CA1051 // Read with Volatile by design.
        public IVirtualMachine? Vm;
#pragma warning restore SA1401, CA1051

        public object Gate { get; } = new();

        public List<(CountingCallback Callback, IDisposable Registration)> Registrations { get; } = [];
    }

    internal sealed class CountingCallback(IVirtualMachine vm, Action<bool, Func<string>> check) : IVirtualMachineCallback
    {
        private readonly TaskCompletionSource _died = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _count;

        public bool Active { get; set; } = true;

        public int Count => Volatile.Read(ref _count);

        public Task Died => _died.Task;

        public void OnDied(int cid, DeathReason reason)
        {
            Interlocked.Increment(ref _count);
            check(vm.State == VirtualMachineState.Dead && vm.DeathReason == reason, () => $"OnDied({reason}) ran while the VM read {vm.State}/{vm.DeathReason}");
            _died.TrySetResult();
        }
    }

    internal sealed record VmSnapshot(bool Exists, string State, string? Reason, bool Listed, int[] OnDiedCounts)
    {
        public override string ToString() =>
            $"exists {Exists} {State}/{Reason ?? "-"} listed {Listed} OnDied [{string.Join(", ", OnDiedCounts)}]";
    }

    internal sealed record Snapshot((string Op, string Result)[] Results, string[] Violations, List<VmSnapshot> Vms)
    {
        public override string ToString() =>
            $"{string.Join("; ", Vms.Select((v, i) => $"vm{i}: {v}"))}; violations [{string.Join("; ", Violations)}]; results: "
            + string.Join(", ", Results.Select(r => $"{r.Op} -> {r.Result}"));
    }
}
