using System.Net.Sockets;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Soak;

/// <summary>
/// Found by the model test: IVirtualMachine.StartAsync is documented to return "once it is up (its control socket
/// answers)", but the crosvm probe used to check only that the socket file exists. A VMM binds the socket (the file
/// appears) before it listens; in that window a StopAsync right after StartAsync could not ask for a graceful stop and
/// killed the VM after the grace period. The probe now connects.
/// </summary>
public sealed class ReadinessContractTests
{
    [Fact(Timeout = 60_000)]
    public async Task StartAsync_ReturnsOnlyOnceTheControlSocketAcceptsConnections()
    {
        await using var h = new TestHarness(o => o with { CrosvmPath = TestPaths.StubVmm });
        string kernel = new StubScenario { ListenDelayMs = 500 }.WriteKernel(Path.Combine(h.Root, "kernel"));
        IVirtualMachine vm = await h.Service.CreateVmAsync(new VirtualMachineRawConfig { Kernel = kernel });

        await vm.StartAsync();
        h.TrackPid(vm);

        string socket = Path.Combine(h.Service.DebugListVms().Single().TemporaryDirectory, "crosvm.sock");
        using var client = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        Action connect = () => client.Connect(new UnixDomainSocketEndPoint(socket));
        connect.Should().NotThrow("StartAsync returns once the VMM is up, i.e. its control socket answers");
    }

    [Fact(Timeout = 60_000)]
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
