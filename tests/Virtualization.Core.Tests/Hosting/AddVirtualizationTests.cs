using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Hosting;

/// <summary>
/// services.AddVirtualization: the Options pattern, validation at host start, one singleton, VMs stopped at host shutdown,
/// a plain synchronous ServiceProvider.Dispose, and the health check. VMs run under the fake crosvm; the harness only
/// provides the folders, kernels and the leak check of its own (unused) service.
/// </summary>
public sealed class AddVirtualizationTests
{
    [Fact(Timeout = 30_000)]
    public async Task AddVirtualization_Configure_OneSingletonWithThoseOptions_ThatLaterChangesDoNotReach()
    {
        await using var h = new TestHarness();
        var services = new ServiceCollection();
        services.AddVirtualization(o => Apply(h.Options, o));
        services.AddVirtualization(o => o.StopGracePeriod = TimeSpan.FromSeconds(7)); // a second call only adds its configuration
        await using ServiceProvider provider = services.BuildServiceProvider();

        VirtualizationService service = provider.GetRequiredService<VirtualizationService>();
        provider.GetRequiredService<IVirtualizationService>().Should().BeSameAs(service);
        provider.GetRequiredService<VirtualizationService>().Should().BeSameAs(service);
        service.Options.CidNamespace.Should().Be(h.Options.CidNamespace);
        service.Options.StopGracePeriod.Should().Be(TimeSpan.FromSeconds(7));
        service.Vmm.Should().Be(VmmKind.Crosvm);
        provider.GetServices<IHostedService>().Should().ContainSingle("the shutdown service is added once");

        provider.GetRequiredService<IOptions<VirtualizationServiceOptions>>().Value.StopGracePeriod = TimeSpan.FromSeconds(1);
        service.Options.StopGracePeriod.Should().Be(TimeSpan.FromSeconds(7), "the service copied its options when it was built");
    }

    [Fact]
    public void AddVirtualization_Configuration_BindsTheVirtualizationSection()
    {
        using var dir = new TempDir();
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Virtualization:Vmm"] = "Qemu",
            ["Virtualization:Acceleration"] = "Tcg",
            ["Virtualization:QemuPath"] = "/opt/qemu/bin/qemu-system-x86_64",
            ["Virtualization:FirstGuestCid"] = "100",
            ["Virtualization:LastGuestCid"] = "199",
            ["Virtualization:StopGracePeriod"] = "00:00:09",
            ["Virtualization:CidNamespace"] = "bound",
            ["Virtualization:TemporaryDirectory"] = dir.File("vms"),
            ["Other:Vmm"] = "Crosvm",
        }).Build();
        var services = new ServiceCollection();
        services.AddVirtualization(configuration);
        using ServiceProvider provider = services.BuildServiceProvider();

        VirtualizationServiceOptions options = provider.GetRequiredService<VirtualizationService>().Options;

        options.Vmm.Should().Be(VmmKind.Qemu);
        options.Acceleration.Should().Be(VmAcceleration.Tcg);
        options.QemuPath.Should().Be("/opt/qemu/bin/qemu-system-x86_64");
        (options.FirstGuestCid, options.LastGuestCid).Should().Be((100, 199));
        options.StopGracePeriod.Should().Be(TimeSpan.FromSeconds(9));
        options.CidNamespace.Should().Be("bound");
        options.CrosvmPath.Should().Be("crosvm", "settings the section lacks keep their defaults");
    }

    [Fact(Timeout = 30_000)]
    public async Task AddVirtualization_InvalidOptions_FailTheHostStart_NamingEachSetting()
    {
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddVirtualization(o =>
        {
            o.FirstGuestCid = 2;
            o.StartTimeout = TimeSpan.Zero;
        });
        using IHost host = builder.Build();

        OptionsValidationException e = (await host.Invoking(x => x.StartAsync()).Should().ThrowAsync<OptionsValidationException>()).Which;
        e.Failures.Should().HaveCount(2);
        e.Failures.Should().Contain(f => f.StartsWith("Virtualization: FirstGuestCid must be at least 3", StringComparison.Ordinal));
        e.Failures.Should().Contain(f => f.StartsWith("Virtualization: StartTimeout must be positive", StringComparison.Ordinal));
    }

    [Fact(Timeout = 90_000)]
    public async Task HostShutdown_StopsEveryRunningVm_AndNoVmmIsLeft()
    {
        await using var h = new TestHarness();
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddVirtualization(o => Apply(h.Options, o));
        using IHost host = builder.Build();
        await host.StartAsync();
        IVirtualizationService service = host.Services.GetRequiredService<IVirtualizationService>();
        IVirtualMachine first = await service.CreateVmAsync(h.Config());
        IVirtualMachine second = await service.CreateVmAsync(h.Config());
        await first.StartAsync();
        await second.StartAsync();
        int[] pids = [.. service.DebugListVms().Select(i => i.ProcessId!.Value)];

        await host.StopAsync();

        first.DeathReason.Should().Be(DeathReason.Shutdown, "the host's stop asks each VM to stop gracefully");
        second.DeathReason.Should().Be(DeathReason.Shutdown);
        pids.Should().HaveCount(2).And.OnlyContain(pid => !ProcessProbe.IsAlive(pid));
    }

    [Fact(Timeout = 60_000)]
    public async Task ServiceProviderDispose_Synchronous_KillsRunningVms()
    {
        await using var h = new TestHarness();
        var services = new ServiceCollection();
        services.AddVirtualization(o => Apply(h.Options, o));
        ServiceProvider provider = services.BuildServiceProvider();
        IVirtualizationService service = provider.GetRequiredService<IVirtualizationService>();
        IVirtualMachine vm = await service.CreateVmAsync(h.Config());
        await vm.StartAsync();
        int pid = service.DebugListVms().Single().ProcessId!.Value;

        provider.Invoking(p => p.Dispose()).Should().NotThrow();

        (await vm.WaitForDeathAsync()).Should().Be(DeathReason.Killed);
        ProcessProbe.IsAlive(pid).Should().BeFalse();
        await service.Invoking(s => s.CreateVmAsync(h.Config())).Should().ThrowAsync<ObjectDisposedException>("the container disposed the service");
    }

    [Fact(Timeout = 60_000)]
    public async Task HealthCheck_ServiceVmmMissing_IsUnhealthy_AndListsEveryProbedItem()
    {
        HealthCheckResult result = await CheckQemuHealthAsync("/nonexistent/qemu-system-x86_64");

        result.Status.Should().Be(HealthStatus.Unhealthy);
        result.Description.Should().Contain("QEMU: '/nonexistent/qemu-system-x86_64' is not an executable");
        result.Data.Keys.Should().Contain(["crosvm", "QEMU", "KVM", "vhost-vsock", "vsock", "temporary directory", "launcher"]);
        ((string)result.Data["QEMU"]).Should().StartWith("missing: ").And.Contain("apt-get install qemu-system-x86");
    }

    [Fact(Timeout = 60_000)]
    public async Task HealthCheck_EverythingTheServiceNeeds_IsNotUnhealthy()
    {
        // The fake crosvm stands in for QEMU: found and executable is what the check requires.
        HealthCheckResult result = await CheckQemuHealthAsync(TestPaths.FakeCrosvm);

        bool kvm = IsReadWrite("/dev/kvm");
        bool vhostVsock = File.Exists("/dev/vhost-vsock");
        result.Status.Should().Be(kvm && vhostVsock ? HealthStatus.Healthy : HealthStatus.Degraded, result.Description);
        if (!kvm)
        {
            result.Description.Should().Contain("no usable KVM: QEMU emulates (TCG)");
        }
    }

    /// <summary>Runs the health check of a container whose service runs QEMU from <paramref name="qemuPath"/>.</summary>
    private static async Task<HealthCheckResult> CheckQemuHealthAsync(string qemuPath)
    {
        using var dir = new TempDir();
        var services = new ServiceCollection();
        services.AddVirtualization(o =>
        {
            o.Vmm = VmmKind.Qemu;
            o.QemuPath = qemuPath;
            o.TemporaryDirectory = dir.File("vms");
        });
        await using ServiceProvider provider = services.BuildServiceProvider();
        var check = ActivatorUtilities.CreateInstance<VirtualizationHealthCheck>(provider);
        var registration = new HealthCheckRegistration("virtualization", check, HealthStatus.Unhealthy, null);
        return await check.CheckHealthAsync(new HealthCheckContext { Registration = registration });
    }

    /// <summary>Copies the harness's settings into the options the container builds.</summary>
    private static void Apply(VirtualizationServiceOptions from, VirtualizationServiceOptions to)
    {
        to.Vmm = from.Vmm;
        to.CrosvmPath = from.CrosvmPath;
        to.TemporaryDirectory = from.TemporaryDirectory;
        to.CidNamespace = from.CidNamespace;
        to.StopGracePeriod = from.StopGracePeriod;
        to.StartTimeout = from.StartTimeout;
    }

    private static bool IsReadWrite(string device)
    {
        try
        {
            using FileStream stream = File.Open(device, FileMode.Open, FileAccess.ReadWrite);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
