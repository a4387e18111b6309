using Virtualization.Core.Lifecycle;
using Virtualization.Core.Payload;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Payload;

public sealed class WaitForStateTests
{
    [Fact(Timeout = 30_000)]
    public async Task ReachedOrPassedStates_CompleteAtOnce_WithTheCurrentState()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.CreateAsync();

        (await vm.WaitForStateAsync(VirtualMachineState.NotStarted)).Should().Be(VirtualMachineState.NotStarted);
        Task<VirtualMachineState> starting = vm.WaitForStateAsync(VirtualMachineState.Starting);
        starting.IsCompleted.Should().BeFalse();

        await vm.StartAsync();
        h.TrackPid(vm);

        (await starting).Should().Be(VirtualMachineState.Starting);
        ((VmInstance)vm).TryAdvancePayloadState(VirtualMachineState.Ready).Should().BeTrue();
        (await vm.WaitForStateAsync(VirtualMachineState.Started)).Should().Be(VirtualMachineState.Ready, "a skipped state counts as passed");
        await vm.StopAsync();
    }

    [Fact(Timeout = 30_000)]
    public async Task Waiters_CompleteWhenTheStateIsReached_NoPolling()
    {
        await using var h = new TestHarness();
        var vm = (VmInstance)await h.StartAsync();
        Task<VirtualMachineState> ready = vm.WaitForStateAsync(VirtualMachineState.Ready);
        Task<VirtualMachineState> finished = vm.WaitForStateAsync(VirtualMachineState.Finished);

        vm.ApplyPayloadReport(new PayloadReport(PayloadReportKind.Started), null).Should().BeNull();
        ready.IsCompleted.Should().BeFalse();
        vm.ApplyPayloadReport(new PayloadReport(PayloadReportKind.Ready), null).Should().BeNull();

        (await ready).Should().Be(VirtualMachineState.Ready);
        finished.IsCompleted.Should().BeFalse();
        vm.ApplyPayloadReport(new PayloadReport(PayloadReportKind.Finished, 1), null).Should().BeNull();
        (await finished).Should().Be(VirtualMachineState.Finished);
        await vm.StopAsync();
    }

    [Fact(Timeout = 30_000)]
    public async Task DeathFirst_FailsWithTheDeathReason_ButDeadItselfCompletes()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.StartAsync();
        Task<VirtualMachineState> ready = vm.WaitForStateAsync(VirtualMachineState.Ready);
        Task<VirtualMachineState> dead = vm.WaitForStateAsync(VirtualMachineState.Dead);

        vm.Kill();

        VirtualMachineDiedException died = (await ready.Invoking(t => t).Should().ThrowAsync<VirtualMachineDiedException>()).Which;
        died.Reason.Should().Be(DeathReason.Killed);
        died.AwaitedState.Should().Be(VirtualMachineState.Ready);
        died.ReachedState.Should().Be(VirtualMachineState.Starting);
        died.Message.Should().Contain($"CID {vm.Cid} died (Killed) in state Starting, before reaching Ready");
        (await dead).Should().Be(VirtualMachineState.Dead);

        Func<Task> later = () => vm.WaitForStateAsync(VirtualMachineState.Started);
        (await later.Should().ThrowAsync<VirtualMachineDiedException>()).Which.Reason.Should().Be(DeathReason.Killed);
    }

    [Fact(Timeout = 30_000)]
    public async Task AfterDeath_AStateReachedBeforeItStillCounts()
    {
        await using var h = new TestHarness();
        var vm = (VmInstance)await h.StartAsync();
        vm.TryAdvancePayloadState(VirtualMachineState.Ready).Should().BeTrue();
        await vm.StopAsync();

        (await vm.WaitForStateAsync(VirtualMachineState.Ready)).Should().Be(VirtualMachineState.Dead);
        Func<Task> finished = () => vm.WaitForStateAsync(VirtualMachineState.Finished);
        await finished.Should().ThrowAsync<VirtualMachineDiedException>();
    }

    [Fact(Timeout = 30_000)]
    public async Task NeverStartedVm_KilledWhileWaitingForStarting_Fails()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.CreateAsync();
        Task<VirtualMachineState> starting = vm.WaitForStateAsync(VirtualMachineState.Starting);

        await vm.DisposeAsync();

        (await starting.Invoking(t => t).Should().ThrowAsync<VirtualMachineDiedException>()).Which.Reason.Should().Be(DeathReason.Killed);
    }

    [Fact(Timeout = 30_000)]
    public async Task Cancellation_StopsWaiting_AndLeavesTheVmAlone()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.StartAsync();
        using var cts = new CancellationTokenSource();
        Task<VirtualMachineState> ready = vm.WaitForStateAsync(VirtualMachineState.Ready, cts.Token);

        await cts.CancelAsync();

        await ready.Invoking(t => t).Should().ThrowAsync<OperationCanceledException>();
        vm.State.Should().Be(VirtualMachineState.Starting);
        Func<Task> precancelled = () => vm.WaitForStateAsync(VirtualMachineState.Ready, cts.Token);
        await precancelled.Should().ThrowAsync<OperationCanceledException>();
        await vm.StopAsync();
    }

    [Fact(Timeout = 30_000)]
    public async Task UndefinedState_IsRejected()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.CreateAsync();

        Func<Task> wait = () => vm.WaitForStateAsync((VirtualMachineState)5);

        await wait.Should().ThrowAsync<ArgumentOutOfRangeException>();
    }
}
