using Microsoft.Extensions.Logging;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Lifecycle;

public sealed class CallbackTests
{
    [Fact(Timeout = 30_000)]
    public async Task RegisterCallback_OnDeadVm_DeliversOnDiedAtOnce()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.CreateAsync();
        vm.Kill();
        await vm.WaitForDeathAsync();

        var late = new RecordingCallback();
        vm.RegisterCallback(late);

        (await late.Died).Should().Be(DeathReason.Killed);
        late.Events.Should().Equal("died:Killed");
    }

    [Fact(Timeout = 30_000)]
    public async Task ThrowingCallback_IsLogged_AndOthersStillRunInOrder()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.CreateAsync();
        var order = new System.Collections.Concurrent.ConcurrentQueue<int>();
        var first = new RecordingCallback { OnDiedAction = () => order.Enqueue(1) };
        var thrower = new RecordingCallback { OnDiedAction = () => { order.Enqueue(2); throw new InvalidOperationException("boom from callback"); } };
        var third = new RecordingCallback { OnDiedAction = () => order.Enqueue(3) };
        vm.RegisterCallback(first);
        vm.RegisterCallback(thrower);
        vm.RegisterCallback(third);

        vm.Kill();
        await vm.WaitForDeathAsync();

        order.Should().Equal(1, 2, 3);
        (await third.Died).Should().Be(DeathReason.Killed);
        h.Log.Entries.Should().Contain(e => e.Level == LogLevel.Error && e.Exception != null && e.Exception.Message == "boom from callback");
    }

    [Fact(Timeout = 30_000)]
    public async Task Callbacks_AreNotInvokedConcurrently_AndNotUnderTheVmLock()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.CreateAsync();
        int inside = 0;
        int overlaps = 0;
        VirtualMachineState seenState = VirtualMachineState.NotStarted;
        VirtualMachineState listedState = VirtualMachineState.NotStarted;
        var callbacks = Enumerable.Range(0, 10).Select(_ => new RecordingCallback
        {
            OnDiedAction = () =>
            {
                if (Interlocked.Increment(ref inside) > 1)
                {
                    Interlocked.Increment(ref overlaps);
                }

                // Calling back into the VM from a callback must not deadlock (no lock is held).
                seenState = vm.State;
                listedState = h.Service.DebugListVms().Single().State;
                Interlocked.Decrement(ref inside);
            },
        }).ToList();
        callbacks.ForEach(c => vm.RegisterCallback(c));

        vm.Kill();
        await vm.WaitForDeathAsync();

        overlaps.Should().Be(0);
        seenState.Should().Be(VirtualMachineState.Dead, "the state is Dead before OnDied is delivered");
        listedState.Should().Be(VirtualMachineState.Dead, "the service can be queried from a callback");
    }

    [Fact(Timeout = 30_000)]
    public async Task OnDied_StartingDisposeFromTheCallback_CompletesWithoutDeadlock()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.StartAsync();
        Task? disposal = null;
        vm.RegisterCallback(new RecordingCallback { OnDiedAction = () => disposal = vm.DisposeAsync().AsTask() });

        vm.Kill();

        (await vm.WaitForDeathAsync()).Should().Be(DeathReason.Killed);
        disposal.Should().NotBeNull("OnDied ran and started the disposal");
        await disposal!;
        h.Service.DebugListVms().Should().BeEmpty("the disposed VM left the service");
    }

    [Fact(Timeout = 30_000)]
    public async Task UnregisteredCallback_GetsNothing()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.CreateAsync();
        var kept = new RecordingCallback();
        var dropped = new RecordingCallback();
        vm.RegisterCallback(kept);
        vm.RegisterCallback(dropped).Dispose();

        vm.Kill();
        await vm.WaitForDeathAsync();

        (await kept.Died).Should().Be(DeathReason.Killed);
        dropped.Events.Should().BeEmpty();
    }

    [Fact(Timeout = 30_000)]
    public async Task Registration_DisposedWhileItsOnDiedIsQueued_GetsNothing_AndDisposesTwiceHarmlessly()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.CreateAsync();
        IDisposable? droppedRegistration = null;
        var first = new RecordingCallback { OnDiedAction = () => droppedRegistration!.Dispose() };
        var dropped = new RecordingCallback();
        var last = new RecordingCallback();
        vm.RegisterCallback(first);
        droppedRegistration = vm.RegisterCallback(dropped);
        vm.RegisterCallback(last);

        vm.Kill(); // queues OnDied for all three, in order; the first one's OnDied unregisters the second
        (await last.Died).Should().Be(DeathReason.Killed);

        first.Events.Should().Equal("died:Killed");
        dropped.Events.Should().BeEmpty("an event queued before the registration was disposed is dropped");
        droppedRegistration.Invoking(r => r.Dispose()).Should().NotThrow("disposing twice is harmless");
        last.Events.Should().Equal("died:Killed");
    }

    [Fact(Timeout = 30_000)]
    public async Task Registration_Disposed_NoLongerHoldsTheCallback()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.CreateAsync();
        var kept = new RecordingCallback();
        vm.RegisterCallback(kept);

        WeakReference dropped = RegisterAndDispose(vm);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        dropped.IsAlive.Should().BeFalse("a disposed registration is removed from the VM, so its callback can be collected");
        vm.Kill();
        (await kept.Died).Should().Be(DeathReason.Killed);
    }

    [Fact(Timeout = 30_000)]
    public async Task DisposedVm_RejectsUse_ButStateStaysReadable()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.CreateAsync();
        await vm.DisposeAsync();
        await vm.DisposeAsync();

        vm.State.Should().Be(VirtualMachineState.Dead);
        Action register = () => vm.RegisterCallback(new RecordingCallback());
        register.Should().Throw<ObjectDisposedException>();
        Func<Task> start = () => vm.StartAsync();
        await start.Should().ThrowAsync<ObjectDisposedException>();
    }

    [Fact(Timeout = 30_000)]
    public async Task PayloadState_MovesForwardOnly()
    {
        await using var h = new TestHarness();
        var vm = (Virtualization.Core.Lifecycle.VmInstance)await h.StartAsync();

        vm.TryAdvancePayloadState(VirtualMachineState.Ready).Should().BeTrue();
        vm.State.Should().Be(VirtualMachineState.Ready);
        vm.TryAdvancePayloadState(VirtualMachineState.Started).Should().BeFalse("payload states only move forward");
        vm.TryAdvancePayloadState(VirtualMachineState.Ready).Should().BeFalse();
        vm.TryAdvancePayloadState(VirtualMachineState.Dead).Should().BeFalse("only the VMM's exit makes a VM dead");
        vm.TryAdvancePayloadState(VirtualMachineState.Finished).Should().BeTrue();
        vm.State.Should().Be(VirtualMachineState.Finished);

        vm.Kill();
        await vm.WaitForDeathAsync();
        vm.TryAdvancePayloadState(VirtualMachineState.Finished).Should().BeFalse();
        vm.State.Should().Be(VirtualMachineState.Dead);
    }

    // Not inlined, so that no local of the test method keeps the callback alive.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static WeakReference RegisterAndDispose(IVirtualMachine vm)
    {
        var callback = new RecordingCallback();
        vm.RegisterCallback(callback).Dispose();
        return new WeakReference(callback);
    }
}
