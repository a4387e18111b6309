using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Soak;

/// <summary>
/// Found by the model test on 2e2c84e (CsCheck seed 9p3fTmMWHrz2, sequential, 1,500 iterations, two services sharing a
/// CID folder): CreateVmAsync threw ArgumentException. A dead VM releases its CID at death but stays in the service until
/// it is disposed; the service keyed its table by CID, so when the allocator handed that CID out again
/// <c>_vms.Add(cid, vm)</c> threw "An item with the same key has already been added". The CID rework on main (table keyed
/// by VM, cursor file under flock) fixed it; this stays as the regression test.
/// </summary>
public sealed class CidReuseTests
{
    [Fact(Timeout = 30_000)]
    public async Task CreateVmAsync_WhenACidComesRoundToADeadUndisposedVm_Succeeds()
    {
        await using var h = new TestHarness(o => o with { FirstGuestCid = 10, LastGuestCid = 12 });
        IVirtualMachine dead = await h.CreateAsync();   // CID 10
        IVirtualMachine other = await h.CreateAsync();  // CID 11
        IVirtualMachine third = await h.CreateAsync();  // CID 12
        dead.Kill();
        await dead.WaitForDeathAsync();                 // CID 10 released; the VM is still listed (not disposed)
        await other.DisposeAsync();                     // CID 11 released and forgotten

        // The cursor wraps to 10: free, though the dead VM that had it is still listed.
        Func<Task<IVirtualMachine>> create = () => h.CreateAsync();

        IVirtualMachine next = (await create.Should().NotThrowAsync("CreateVmAsync documents only config, CID-exhausted and disposed errors")).Subject;
        h.Service.DebugListVms().Where(i => i.State != VirtualMachineState.Dead).Select(i => i.Cid)
            .Should().OnlyHaveUniqueItems("a CID is unique among live VMs").And.Contain(next.Cid);
        dead.State.Should().Be(VirtualMachineState.Dead);
        await next.DisposeAsync();
        await third.DisposeAsync();
        await dead.DisposeAsync();
    }
}
