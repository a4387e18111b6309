using System.Net.Sockets;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Soak;

/// <summary>
/// Found by the model test: IVirtualMachine.StartAsync is documented to return "once it is up (its control socket
/// answers)", but the crosvm probe only checks that the socket file exists. A VMM binds the socket (the file appears)
/// before it listens, so in that window StartAsync has returned and the socket refuses connections: a StopAsync right
/// after StartAsync then cannot ask for a graceful stop and kills the VM after the grace period.
/// </summary>
public sealed class ReadinessContractTests
{
    private const string Bug =
        "bug: crosvm readiness is File.Exists(control socket), not 'the control socket answers' as IVirtualMachine.StartAsync documents; "
        + "a stop right after the start is refused and the VM is killed (see docs/reliability-soak.md)";

    [Fact(Timeout = 60_000, Skip = Bug)]
    public async Task StartAsync_ReturnsOnlyOnceTheControlSocketAcceptsConnections()
    {
        await using var h = new TestHarness(o => o with { CrosvmPath = TestPaths.StubVmm });
        string kernel = new StubScenario { ListenDelayMs = 500 }.WriteKernel(Path.Combine(h.Root, "kernel"));
        IVirtualMachine vm = await h.Service.CreateVmAsync(new VirtualMachineRawConfig { Kernel = kernel });

        await vm.StartAsync();
        h.TrackPid(vm);

        string socket = Path.Combine(h.Service.DebugListVms().Single().TemporaryDirectory, "crosvm.sock");
        using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        Action connect = () => client.Connect(new UnixDomainSocketEndPoint(socket));
        connect.Should().NotThrow("StartAsync returns once the VMM is up, i.e. its control socket answers");
    }

    [Fact(Timeout = 60_000, Skip = Bug)]
    public async Task StopAsync_RightAfterStartAsync_StopsGracefully()
    {
        await using var h = new TestHarness(o => o with { CrosvmPath = TestPaths.StubVmm, StopGracePeriod = TimeSpan.FromSeconds(5) });
        string kernel = new StubScenario { ListenDelayMs = 500 }.WriteKernel(Path.Combine(h.Root, "kernel"));
        IVirtualMachine vm = await h.Service.CreateVmAsync(new VirtualMachineRawConfig { Kernel = kernel });
        await vm.StartAsync();
        h.TrackPid(vm);

        await vm.StopAsync();

        vm.DeathReason.Should().Be(DeathReason.Shutdown, "the VMM honours stop requests; it was up when StartAsync returned");
    }
}
