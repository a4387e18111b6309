using System.Globalization;
using System.Text;

namespace Virtualization.Core.Tests.Soak;

/// <summary>How the stub VMM of a model slot behaves (chosen per run by the initial-state generator).</summary>
internal enum ModelBehaviour
{
    /// <summary>Comes up, honours stop, exits on the test's cue.</summary>
    Normal,

    /// <summary>Comes up, ignores stop (killed after the grace period), exits on the test's cue.</summary>
    IgnoresStop,

    /// <summary>Exits with code 3 before it is up.</summary>
    FailsAtStart,
}

/// <summary>
/// The reference model of the documented state machine, for one service with a few VM slots. It is run sequentially
/// only (CsCheck runs it once per candidate linearization). Results are strings; where the contract allows more than one
/// outcome (a graceful stop that may run out of its grace period) the alternatives are joined by '|'.
/// </summary>
internal sealed class LifecycleModel(ModelBehaviour[] behaviours, bool[] created, bool parallel)
{
    public bool Parallel { get; } = parallel;

    public bool ServiceDisposed { get; private set; }

    public VmModel[] Slots { get; } = [.. behaviours.Select((b, i) => new VmModel(b) { Exists = created[i] })];

    public List<(string Op, string Result)> Results { get; } = [];

    public static string CodeReason(int exitCode) => exitCode switch
    {
        0 => nameof(DeathReason.Shutdown),
        32 => nameof(DeathReason.Reboot),
        33 => nameof(DeathReason.Crash),
        _ => nameof(DeathReason.Error),
    };

    /// <summary>The exit codes that show crosvm's (and the stub's) VM ran, so an exit before the first probe is no start failure.</summary>
    public static bool ShowsTheVmRan(int exitCode) => exitCode is 0 or 32 or 33 or 34 or 36;

    public void Create(int slot, string op)
    {
        VmModel vm = Slots[slot];
        if (vm.Exists)
        {
            Record(op, "exists");
        }
        else if (ServiceDisposed)
        {
            Record(op, "ObjectDisposedException");
        }
        else
        {
            vm.Exists = true;
            Record(op, "ok");
        }
    }

    public void Start(int slot, bool cancelled, string op)
    {
        VmModel vm = Slots[slot];
        if (!vm.Exists)
        {
            Record(op, "novm");
        }
        else if (vm.Disposed)
        {
            Record(op, Parallel ? "refused" : "ObjectDisposedException");
        }
        else if (vm.Phase != ModelPhase.NotStarted)
        {
            Record(op, Parallel ? "refused" : "InvalidOperationException");
        }
        else if (cancelled)
        {
            vm.Die("Killed");
            Record(op, "OperationCanceledException");
        }
        else if (vm.Behaviour == ModelBehaviour.FailsAtStart)
        {
            // Concurrently, a start is not atomic: while it runs, another start is refused, and a kill, stop or dispose
            // then makes it throw "killed while starting" (refused) and the VM dies Killed.
            vm.Die(Parallel ? ["StartFailed", "Killed"] : ["StartFailed"]);
            Record(op, Parallel ? "VirtualMachineStartException|refused" : "VirtualMachineStartException");
        }
        else
        {
            // Concurrently, a VmmExit cue may reach the VMM before the library has seen it up: with a code that only a
            // failed start gives (1), this start then throws and the VM dies StartFailed. The exception is allowed
            // here; the final state allows Dead/StartFailed only if such a cue was given while it ran (VmmExit).
            vm.Phase = ModelPhase.Running;
            Record(op, Parallel ? "ok|refused|VirtualMachineStartException" : "ok");
        }
    }

    public void Stop(int slot, string op)
    {
        VmModel vm = Slots[slot];
        if (!vm.Exists)
        {
            Record(op, "novm");
            return;
        }

        StopCore(vm);
        Record(op, "ok");
    }

    public void Kill(int slot, string op)
    {
        VmModel vm = Slots[slot];
        if (!vm.Exists)
        {
            Record(op, "novm");
            return;
        }

        // What State reads right after Kill() returns: dead at once unless a VMM must be reaped first.
        string right = vm.Phase == ModelPhase.Running ? "Starting|Dead" : "Dead";
        vm.Die("Killed");
        Record(op, Parallel ? "ok" : right);
    }

    public void Dispose(int slot, string op)
    {
        VmModel vm = Slots[slot];
        if (!vm.Exists)
        {
            Record(op, "novm");
            return;
        }

        vm.Die("Killed");
        vm.Disposed = true;
        Record(op, "ok");
    }

    public void Register(int slot, string op)
    {
        VmModel vm = Slots[slot];
        if (!vm.Exists)
        {
            Record(op, "novm");
        }
        else if (vm.Disposed)
        {
            Record(op, "ObjectDisposedException");
        }
        else
        {
            vm.Registrations.Add(new RegistrationModel { RegisteredDead = vm.Phase == ModelPhase.Dead, MaybeDead = vm.PendingExit.Length > 0 });
            Record(op, "ok");
        }
    }

    public void Unregister(int slot, string op)
    {
        VmModel vm = Slots[slot];
        RegistrationModel? latest = vm.Registrations.LastOrDefault(r => r.Active);
        if (!vm.Exists)
        {
            Record(op, "novm");
        }
        else if (latest is null)
        {
            Record(op, "none");
        }
        else
        {
            latest.Active = false;

            // The contract: no event after the unregistration returns. An OnDied queued at a death that ran
            // concurrently may still be pending then, and is dropped.
            latest.UnregisteredConcurrentlyAfterDeath = Parallel && latest.DiedWhileActive;
            Record(op, "ok");
        }
    }

    public void Read(int slot, string op)
    {
        VmModel vm = Slots[slot];
        Record(op, !vm.Exists ? "novm" : Parallel ? "read" : vm.Describe());
    }

    public void VmmExit(int slot, int exitCode, string op)
    {
        VmModel vm = Slots[slot];
        if (!vm.Exists)
        {
            Record(op, "novm");
            return;
        }

        if (vm.Phase == ModelPhase.Running && Parallel)
        {
            // Concurrently, the start this VM's Running stands for may still be under way (its socket not there yet):
            // then the cue reaches no VMM. So the VMM may or may not have exited. If it got the cue before the library
            // saw it up, a code that does not show the VM ran fails the start instead (StartFailed).
            string[] reasons = ShowsTheVmRan(exitCode) ? [CodeReason(exitCode)] : [CodeReason(exitCode), nameof(DeathReason.StartFailed)];
            vm.PendingExit = [.. vm.PendingExit.Concat(reasons).Distinct()];
            foreach (RegistrationModel registration in vm.Registrations.Where(r => r.Active))
            {
                registration.MaybeDead = true; // OnDied once if it did exit, none if not.
            }
        }
        else if (vm.Phase == ModelPhase.Running)
        {
            vm.Die(CodeReason(exitCode));
        }

        Record(op, "ok");
    }

    public void DisposeService(string op)
    {
        foreach (VmModel vm in Slots.Where(v => v.Exists && !v.Disposed))
        {
            StopCore(vm);
            vm.Disposed = true;
        }

        ServiceDisposed = true;
        Record(op, "ok");
    }

    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"service disposed {ServiceDisposed}; ");
        for (int i = 0; i < Slots.Length; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"vm{i}: {Slots[i]}; ");
        }

        text.Append("results: ").AppendJoin(", ", Results.Select(r => $"{r.Op} -> {r.Result}"));
        return text.ToString();
    }

    private static void StopCore(VmModel vm)
    {
        switch (vm.Phase)
        {
            case ModelPhase.NotStarted:
                vm.Die("Killed");
                break;
            case ModelPhase.Running:
                // Graceful, unless the VMM ignores it or the grace period runs out first (a loaded machine).
                vm.Die(vm.Behaviour == ModelBehaviour.IgnoresStop ? ["Killed"] : ["Shutdown", "Killed"]);
                break;
            default:
                break;
        }
    }

    private void Record(string op, string result) => Results.Add((op, result));
}

internal enum ModelPhase
{
    NotStarted,
    Running,
    Dead,
}

internal sealed class VmModel(ModelBehaviour behaviour)
{
    public ModelBehaviour Behaviour { get; } = behaviour;

    public bool Exists { get; set; }

    public ModelPhase Phase { get; set; }

    /// <summary>The death reasons the contract allows, once dead.</summary>
    public string[] Reasons { get; private set; } = [];

    public bool Disposed { get; set; }

    public List<RegistrationModel> Registrations { get; } = [];

    public string State => Phase switch
    {
        ModelPhase.NotStarted => nameof(VirtualMachineState.NotStarted),
        ModelPhase.Running => nameof(VirtualMachineState.Starting),
        _ => nameof(VirtualMachineState.Dead),
    };

    /// <summary>
    /// Concurrent test only: reasons with which the VMM may already have exited on cue (see VmmExit); empty when it
    /// certainly has not. A later death may then have either reason.
    /// </summary>
    public string[] PendingExit { get; set; } = [];

    public void Die(params string[] reasons)
    {
        if (Phase == ModelPhase.Dead)
        {
            return;
        }

        Phase = ModelPhase.Dead;
        Reasons = [.. reasons.Concat(PendingExit).Distinct()];
        foreach (RegistrationModel registration in Registrations.Where(r => r.Active))
        {
            registration.DiedWhileActive = true;
        }
    }

    /// <summary>State/Reason as a read reports it, with alternatives.</summary>
    public string Describe() => Phase == ModelPhase.Dead ? string.Join('|', Reasons.Select(r => "Dead/" + r)) : State + "/-";

    public override string ToString() =>
        $"{Behaviour} exists {Exists} {Describe()}{(PendingExit.Length > 0 ? " (may have exited: " + string.Join("|", PendingExit) + ")" : string.Empty)} disposed {Disposed} OnDied expected [{string.Join(", ", Registrations.Select(r => r.Expected))}]";
}

internal sealed class RegistrationModel
{
    public bool Active { get; set; } = true;

    public bool RegisteredDead { get; set; }

    public bool DiedWhileActive { get; set; }

    /// <summary>
    /// How many OnDied calls the contract allows, counted once the run settled: once per registration that was active at
    /// the death; once for one registered on a dead VM (delivered "at once", i.e. queued: if it was unregistered
    /// before the delivery ran, none); the same for one unregistered concurrently after the death; none for one
    /// unregistered before the death or on a VM still alive.
    /// </summary>
    public string Expected =>
        RegisteredDead ? (Active ? "1" : "0|1")
        : MaybeDead ? (Active && DiedWhileActive ? "1" : "0|1")
        : UnregisteredConcurrentlyAfterDeath ? "0|1"
        : DiedWhileActive ? "1" : "0";

    /// <summary>
    /// Concurrent test only: unregistered after a death it was active at, while OnDied may still have been queued
    /// (dropped: no event is delivered after the unregistration returns).
    /// </summary>
    public bool UnregisteredConcurrentlyAfterDeath { get; set; }

    /// <summary>Concurrent test only: registered while, or active when, the VMM may have exited (see VmModel.PendingExit).</summary>
    public bool MaybeDead { get; set; }
}
