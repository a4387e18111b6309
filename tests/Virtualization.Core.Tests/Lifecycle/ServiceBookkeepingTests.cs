using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Lifecycle;

/// <summary>
/// The service tracks VMs by identity, not by CID: a dead VM that was not disposed keeps its place in
/// <see cref="IVirtualizationService.DebugListVms"/> but not its CID, and disposing an old VM never touches a newer VM
/// that got the same CID. Small CID ranges make CIDs come round again quickly.
/// </summary>
public sealed class ServiceBookkeepingTests
{
    [Fact(Timeout = 30_000)]
    public async Task CreateVmAsync_CidOfDeadUndisposedVmComesRoundAgain_Succeeds()
    {
        await using var h = new TestHarness(o => o with { FirstGuestCid = 100, LastGuestCid = 101 });
        IVirtualMachine dead = await h.StartAsync();
        dead.Kill();
        (await dead.WaitForDeathAsync()).Should().Be(DeathReason.Killed);
        IVirtualMachine other = await h.CreateAsync();

        IVirtualMachine reused = await h.CreateAsync();

        other.Cid.Should().Be(101);
        reused.Cid.Should().Be(dead.Cid, "the dead VM released its CID, and it is the only free one");
        h.Service.DebugListVms().Select(i => (i.Cid, i.State)).Should().Equal(
            [(100, VirtualMachineState.Dead), (100, VirtualMachineState.NotStarted), (101, VirtualMachineState.NotStarted)],
            "a dead VM stays listed until it is disposed; the list is ordered by CID, then by creation");

        await dead.DisposeAsync();

        h.Service.DebugListVms().Select(i => (i.Cid, i.State)).Should().Equal(
            [(100, VirtualMachineState.NotStarted), (101, VirtualMachineState.NotStarted)],
            "disposing the dead VM removes it, and only it");
    }

    [Fact(Timeout = 30_000)]
    public async Task DisposeAsync_OldVmTwiceAfterItsCidWasReused_LeavesNewerVmToTheService()
    {
        await using var h = new TestHarness(o => o with { FirstGuestCid = 100, LastGuestCid = 101 });
        IVirtualMachine old = await h.CreateAsync();
        await old.DisposeAsync();
        IVirtualMachine other = await h.CreateAsync();
        IVirtualMachine newer = await h.StartAsync();
        newer.Cid.Should().Be(old.Cid, "the range has two CIDs: the cursor wrapped around to the released one");
        int pid = h.ProcessIdOf(newer)!.Value;

        await old.DisposeAsync();

        h.Service.DebugListVms().Should().Contain(i => i.Cid == newer.Cid && i.ProcessId == pid, "the newer VM is still tracked");
        h.Service.DebugListVms().Should().HaveCount(2);
        await h.Service.DisposeAsync();
        newer.State.Should().Be(VirtualMachineState.Dead, "disposing the service stops every VM it holds");
        other.State.Should().Be(VirtualMachineState.Dead);
        ProcessProbe.IsAlive(pid).Should().BeFalse("no VMM may outlive the service");
    }

    [Fact(Timeout = 30_000)]
    public async Task DebugListVms_SeveralVmsPerCid_OrderedByCidThenCreation()
    {
        await using var h = new TestHarness(o => o with { FirstGuestCid = 200, LastGuestCid = 202 });
        var created = new List<IVirtualMachine>();
        for (int i = 0; i < 5; i++)
        {
            IVirtualMachine vm = await h.CreateAsync();
            created.Add(vm);
            if (i < 4)
            {
                // Dies at once without being disposed: its CID is free again, its entry stays.
                vm.Kill();
                await vm.WaitForDeathAsync();
            }
        }

        created.Select(v => v.Cid).Should().Equal(200, 201, 202, 200, 201);
        IReadOnlyList<VirtualMachineDebugInfo> list = h.Service.DebugListVms();

        list.Select(i => i.Cid).Should().Equal(200, 200, 201, 201, 202);
        list.Select(i => i.State).Should().Equal(
            VirtualMachineState.Dead, VirtualMachineState.Dead, VirtualMachineState.Dead, VirtualMachineState.NotStarted, VirtualMachineState.Dead);
        foreach (IVirtualMachine vm in created)
        {
            await vm.DisposeAsync();
        }

        h.Service.DebugListVms().Should().BeEmpty();
    }
}
