using Virtualization.Core.Lifecycle;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Lifecycle;

/// <summary>
/// Callbacks never run under the VM's lock, nor on the thread whose call caused them. System.Threading.Lock is
/// re-entrant, so "the lock is free" is proven from another thread (one that is not the callback's), and "not on the
/// caller's thread" by calling from a dedicated thread that stays blocked until the callback has run elsewhere.
/// </summary>
public sealed class CallbackDeliveryTests
{
    private static readonly TimeSpan LockWait = TimeSpan.FromSeconds(10);

    [Fact(Timeout = 30_000)]
    public async Task Kill_OfANotStartedVm_DeliversOnDiedOffTheKillingThread_WithTheVmLockFree()
    {
        await using var h = new TestHarness();
        var vm = (VmInstance)await h.CreateAsync();
        var probe = new DeliveryProbe(vm);
        vm.RegisterCallback(new RecordingCallback { OnDiedAction = probe.Record });

        int caller = probe.CallFromOwnThread(vm.Kill);

        Delivery seen = await probe.Delivered;
        seen.LockFreeForAnotherThread.Should().BeTrue("OnDied must not be delivered while the VM's lock is held");
        seen.ThreadId.Should().NotBe(caller, "OnDied must not be delivered on the thread that called Kill");
    }

    [Fact(Timeout = 30_000)]
    public async Task StopAsync_OfANotStartedVm_DeliversOnDiedOffTheStoppingThread_WithTheVmLockFree()
    {
        await using var h = new TestHarness();
        var vm = (VmInstance)await h.CreateAsync();
        var probe = new DeliveryProbe(vm);
        vm.RegisterCallback(new RecordingCallback { OnDiedAction = probe.Record });
        Task? stop = null;

        int caller = probe.CallFromOwnThread(() => stop = vm.StopAsync());

        Delivery seen = await probe.Delivered;
        await stop!;
        seen.LockFreeForAnotherThread.Should().BeTrue("OnDied must not be delivered while the VM's lock is held");
        seen.ThreadId.Should().NotBe(caller, "OnDied must not be delivered on the thread that called StopAsync");
    }

    [Fact(Timeout = 60_000)]
    public async Task Kill_OfARunningVm_DeliversOnDiedWithTheVmLockFree()
    {
        await using var h = new TestHarness();
        var vm = (VmInstance)await h.StartAsync();
        var probe = new DeliveryProbe(vm);
        vm.RegisterCallback(new RecordingCallback { OnDiedAction = probe.Record });

        int caller = probe.CallFromOwnThread(vm.Kill);

        Delivery seen = await probe.Delivered;
        seen.LockFreeForAnotherThread.Should().BeTrue("OnDied must not be delivered while the VM's lock is held");
        seen.ThreadId.Should().NotBe(caller);
        (await vm.WaitForDeathAsync()).Should().Be(DeathReason.Killed);
    }

    [Fact(Timeout = 60_000)]
    public async Task PayloadReport_DeliversOnPayloadReadyOffTheReportingThread_WithTheVmLockFree()
    {
        await using var h = new TestHarness();
        var vm = (VmInstance)await h.StartAsync();
        var probe = new DeliveryProbe(vm);
        vm.RegisterCallback(new RecordingCallback { OnPayloadReadyAction = probe.Record });
        bool applied = false;

        int caller = probe.CallFromOwnThread(() => applied = vm.TryAdvancePayloadState(VirtualMachineState.Ready));

        Delivery seen = await probe.Delivered;
        applied.Should().BeTrue();
        seen.LockFreeForAnotherThread.Should().BeTrue("OnPayloadReady must not be delivered while the VM's lock is held");
        seen.ThreadId.Should().NotBe(caller, "OnPayloadReady must not be delivered on the thread that applied the report");
        vm.Kill();
        await vm.WaitForDeathAsync();
    }

    /// <summary>What a callback saw when it ran.</summary>
    private sealed record Delivery(int ThreadId, bool LockFreeForAnotherThread);

    /// <summary>Records, from inside a callback, its thread and whether another thread can take the VM's lock.</summary>
    private sealed class DeliveryProbe(VmInstance vm)
    {
        private readonly TaskCompletionSource<Delivery> _delivered = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<Delivery> Delivered => _delivered.Task;

        /// <summary>Called by the callback: asks a fresh thread (never this one: the lock is re-entrant) to take the lock.</summary>
        public void Record()
        {
            bool free = false;
            var other = new Thread(() =>
            {
                if (vm.Gate.TryEnter(LockWait))
                {
                    vm.Gate.Exit();
                    free = true;
                }
            });
            other.Start();
            other.Join();
            _delivered.TrySetResult(new Delivery(Environment.CurrentManagedThreadId, free));
        }

        /// <summary>
        /// Runs <paramref name="call"/> on a dedicated thread that then stays blocked until the callback ran (so the
        /// callback can only have run on it if it ran inside the call). Returns that thread's id.
        /// </summary>
        public int CallFromOwnThread(Action call)
        {
            int id = 0;
            var thread = new Thread(() =>
            {
                id = Environment.CurrentManagedThreadId;
                call();
                _delivered.Task.Wait(LockWait * 2);
            });
            thread.Start();
            thread.Join();
            return id;
        }
    }
}
