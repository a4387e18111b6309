using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Lifecycle;

public sealed class CreateVmTests
{
    [Fact(Timeout = 30_000)]
    public async Task CreateVmAsync_ValidConfig_ReturnsNotStartedVmWithFolderAndCid()
    {
        await using var h = new TestHarness();
        DateTimeOffset before = DateTimeOffset.UtcNow;
        IVirtualMachine vm = await h.CreateAsync();
        DateTimeOffset after = DateTimeOffset.UtcNow;

        vm.State.Should().Be(VirtualMachineState.NotStarted);
        vm.DeathReason.Should().BeNull();
        vm.Cid.Should().BeInRange(h.Options.FirstGuestCid, h.Options.LastGuestCid);
        VirtualMachineDebugInfo info = h.Service.DebugListVms().Should().ContainSingle().Subject;
        info.Cid.Should().Be(vm.Cid);
        info.State.Should().Be(VirtualMachineState.NotStarted);
        info.ProcessId.Should().BeNull();
        info.TemporaryDirectory.Should().Be(Path.Combine(h.Options.TemporaryDirectory, $"vm-{vm.Cid}"));
        Directory.Exists(info.TemporaryDirectory).Should().BeTrue();
        info.CreatedAt.Should().BeOnOrAfter(before).And.BeOnOrBefore(after, "CreatedAt is taken during CreateVmAsync");
        h.Service.HeldCidCount.Should().Be(1);
    }

    [Fact(Timeout = 30_000)]
    public async Task DisposeAsync_NeverStartedVm_LeavesNothingBehind()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.CreateAsync();
        var callback = new RecordingCallback();
        vm.RegisterCallback(callback);
        string folder = h.Service.DebugListVms()[0].TemporaryDirectory;

        await vm.DisposeAsync();

        Directory.Exists(folder).Should().BeFalse();
        h.Service.HeldCidCount.Should().Be(0);
        h.Service.DebugListVms().Should().BeEmpty();
        vm.State.Should().Be(VirtualMachineState.Dead);
        vm.DeathReason.Should().Be(DeathReason.Killed);
        (await callback.Died).Should().Be(DeathReason.Killed);
    }

    [Fact(Timeout = 60_000)]
    public async Task CreateVmAsync_500Concurrently_AllCidsUnique()
    {
        await using var h = new TestHarness();
        string kernel = h.Kernel();
        IVirtualMachine[] vms = await Task.WhenAll(Enumerable.Range(0, 500).Select(_ => Task.Run(() =>
            h.Service.CreateVmAsync(new VirtualMachineRawConfig { Kernel = kernel }))));

        vms.Select(v => v.Cid).Should().OnlyHaveUniqueItems();
        h.Service.DebugListVms().Should().HaveCount(500);
        h.Service.HeldCidCount.Should().Be(500);
        await Task.WhenAll(vms.Select(v => v.DisposeAsync().AsTask()));
        h.Service.HeldCidCount.Should().Be(0);
    }

    [Fact(Timeout = 30_000)]
    public async Task CreateVmAsync_ReleasedCid_IsNotReusedImmediately()
    {
        await using var h = new TestHarness();
        IVirtualMachine first = await h.CreateAsync();
        int cid = first.Cid;
        await first.DisposeAsync();

        IVirtualMachine second = await h.CreateAsync();

        second.Cid.Should().Be(cid + 1, "CIDs advance round-robin instead of reusing the one just released");
    }

    [Fact(Timeout = 30_000)]
    public async Task CreateVmAsync_RangeExhausted_ThrowsAndWrapsAroundAfterRelease()
    {
        await using var h = new TestHarness(o => o with { FirstGuestCid = 100, LastGuestCid = 102 });
        IVirtualMachine a = await h.CreateAsync();
        IVirtualMachine b = await h.CreateAsync();
        IVirtualMachine c = await h.CreateAsync();
        new[] { a.Cid, b.Cid, c.Cid }.Should().Equal(100, 101, 102);

        Func<Task> full = () => h.CreateAsync();
        (await full.Should().ThrowAsync<CidExhaustedException>()).Which.Message.Should().Contain("100..102");
        h.Service.HeldCidCount.Should().Be(3);
        Directory.GetDirectories(h.Options.TemporaryDirectory).Should().HaveCount(3, "a failed create leaves no folder");

        await b.DisposeAsync();
        IVirtualMachine d = await h.CreateAsync();
        d.Cid.Should().Be(101, "the only free CID, found by wrapping around");
    }

    [Fact(Timeout = 60_000)]
    public async Task CreateVmAsync_TwoProcessesAtOnce_GetDisjointCids()
    {
        await using var h = new TestHarness();
        string cidNamespace = h.Options.CidNamespace;

        // Each host has its own temporary root, hence its own cursor: both start at the same CID, at the same time, and
        // only the CIDs' abstract socket names keep them apart. Each holds its 150 CIDs until disposed.
        Task<VmHostAlloc>[] hosts = [.. Enumerable.Range(0, 2).Select(i =>
            VmHostAlloc.StartAsync(cidNamespace, Path.Combine(h.Root, $"host-{i}"), 150, first: 10, last: 65535))];
        try
        {
            VmHostAlloc[] started = await Task.WhenAll(hosts);
            IReadOnlyList<int> a = started[0].Cids, b = started[1].Cids;
            a.Should().HaveCount(150).And.OnlyHaveUniqueItems();
            b.Should().HaveCount(150).And.OnlyHaveUniqueItems();
            a.Intersect(b).Should().BeEmpty("a CID held by one process is never handed out by another");
        }
        finally
        {
            foreach (Task<VmHostAlloc> host in hosts.Where(t => t.IsCompletedSuccessfully))
            {
                await (await host).DisposeAsync();
            }
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task CreateVmAsync_AfterServiceDisposed_ThrowsObjectDisposed()
    {
        var h = new TestHarness();
        await h.Service.DisposeAsync();
        Func<Task> create = () => h.CreateAsync();
        await create.Should().ThrowAsync<ObjectDisposedException>();
        await h.DisposeAsync();
    }

    [Fact]
    public void Constructor_BadOptions_Throws()
    {
        Action badRange = () => _ = new VirtualizationService(new VirtualizationServiceOptions { FirstGuestCid = 2 });
        badRange.Should().Throw<ArgumentException>().WithMessage("*FirstGuestCid*");
        Action inverted = () => _ = new VirtualizationService(new VirtualizationServiceOptions { FirstGuestCid = 20, LastGuestCid = 10 });
        inverted.Should().Throw<ArgumentException>().WithMessage("*20..10*");
        Action longDir = () => _ = new VirtualizationService(new VirtualizationServiceOptions { TemporaryDirectory = "/tmp/" + new string('x', 120) });
        longDir.Should().Throw<ArgumentException>().WithMessage("*too long*");
    }
}
