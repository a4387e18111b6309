using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Lifecycle;

/// <summary>The service's options: settable, copied at construction, validated with messages naming the setting; VmmKind.Auto; synchronous Dispose.</summary>
public sealed class ServiceOptionsTests
{
    [Fact(Timeout = 30_000)]
    public async Task Constructor_CopiesTheOptions_LaterChangesDoNotReachTheService()
    {
        await using var h = new TestHarness();
        var options = h.Options with { };
        await using var service = new VirtualizationService(options);

        options.StopGracePeriod = TimeSpan.FromSeconds(1);
        options.Vmm = VmmKind.Qemu;
        service.Options.StopGracePeriod = TimeSpan.FromSeconds(2);

        service.Options.StopGracePeriod.Should().Be(h.Options.StopGracePeriod);
        service.Options.Vmm.Should().Be(VmmKind.Crosvm);
        service.Vmm.Should().Be(VmmKind.Crosvm);
    }

    [Fact]
    public void Validate_ListsEveryProblem_EachNamingItsSetting()
    {
        var options = new VirtualizationServiceOptions
        {
            FirstGuestCid = 2,
            CrosvmPath = " ",
            StopGracePeriod = TimeSpan.FromSeconds(-1),
            VsockConnectTimeout = TimeSpan.Zero,
            CidNamespace = "no spaces",
            Vmm = (VmmKind)7,
        };

        IReadOnlyList<string> problems = options.Validate();

        problems.Select(p => p.Split(' ')[0]).Should().BeEquivalentTo("FirstGuestCid", "Vmm", "CrosvmPath", "StopGracePeriod", "VsockConnectTimeout", "CidNamespace");
        new VirtualizationServiceOptions().Validate().Should().BeEmpty("the defaults are valid");
        FluentActions.Invoking(() => new VirtualizationService(options)).Should().Throw<ArgumentException>()
            .WithMessage("*FirstGuestCid must be at least 3*VsockConnectTimeout must be positive*");
    }

    [Fact]
    public void Default_Vmm_IsAuto() => new VirtualizationServiceOptions().Vmm.Should().Be(VmmKind.Auto);

    [Fact(Timeout = 30_000)]
    public async Task Auto_CrosvmFoundQemuNot_ResolvesToCrosvmAtConstruction()
    {
        await using var h = new TestHarness(o => o with { Vmm = VmmKind.Auto, QemuPath = "/nonexistent/qemu-system-x86_64" });

        h.Service.Vmm.Should().Be(VmmKind.Crosvm, "crosvm is the only VMM found (without KVM its start would say so)");
        h.Service.Options.Vmm.Should().Be(VmmKind.Auto, "the options keep what was asked");
    }

    [Fact(Timeout = 30_000)]
    public async Task Auto_NeitherVmmFound_StartFailsNamingThePackageToInstall()
    {
        await using var h = new TestHarness(o => o with
        {
            Vmm = VmmKind.Auto,
            CrosvmPath = "/nonexistent/crosvm",
            QemuPath = "/nonexistent/qemu-system-x86_64",
        });
        IVirtualMachine vm = await h.CreateAsync();

        VirtualMachineStartException e = (await vm.Invoking(v => v.StartAsync()).Should().ThrowAsync<VirtualMachineStartException>()).Which;

        e.Message.Should().Contain("Neither crosvm nor QEMU was found").And.Contain("apt-get install qemu-system-x86")
            .And.Contain("no distribution packages it");
        vm.DeathReason.Should().Be(DeathReason.StartFailed);
    }

    [Fact(Timeout = 60_000)]
    public async Task Dispose_Synchronous_KillsRunningVmsAndReturnsWithoutWaiting()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.StartAsync();
        int pid = h.ProcessIdOf(vm)!.Value;

        h.Service.Dispose();

        (await vm.WaitForDeathAsync()).Should().Be(DeathReason.Killed);
        ProcessProbe.IsAlive(pid).Should().BeFalse();
        h.Service.DebugListVms().Should().BeEmpty("the disposed VMs were removed");
        h.Service.Dispose(); // twice is fine
    }
}
