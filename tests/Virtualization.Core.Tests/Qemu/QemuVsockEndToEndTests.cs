using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Qemu;

/// <summary>
/// True host-to-guest vsock: QEMU gives the guest a vhost-vsock device with the VM's CID, the guest runs an echo server
/// (guest/vsock-echo.c), and the host connects with ConnectVsockAsync. Needs /dev/vhost-vsock on the host (modprobe
/// vhost_vsock); on hosts without it, and on hosts that are themselves guests whose vsock connects leave the machine,
/// the test skips.
/// </summary>
[Collection(QemuGuests.Name)]
[Trait("Category", "E2E")]
public sealed class QemuVsockEndToEndTests
{
    [SkippableFact(Timeout = 120_000)]
    public async Task ConnectVsockAsync_ToGuestEchoServer_RoundTripsData()
    {
        Skip.IfNot(File.Exists("/dev/vhost-vsock"), "/dev/vhost-vsock is absent: this host cannot give guests a vsock device (modprobe vhost_vsock)");
        GuestImage.SkipUnlessAvailable();
        await using var h = GuestImage.Harness(o => o with { VsockConnectTimeout = TimeSpan.FromSeconds(10) }, realVsock: true);
        var console = new ConsoleCapture();
        IVirtualMachine vm = await h.Service.CreateVmAsync(GuestImage.Script("vsock-echo 5000"), console);
        await vm.StartAsync();
        h.TrackPid(vm);
        await console.WaitForAsync("VCORE-GUEST: vsock listening on 5000");

        await using VsockConnection connection = await vm.ConnectVsockAsync(5000);
        connection.RemoteEndPoint.Should().Be(new VsockEndPoint(vm.Cid, 5000));
        Stream stream = connection.Stream;
        byte[] sent = "hello over vsock"u8.ToArray();
        await stream.WriteAsync(sent);
        var received = new byte[sent.Length];
        await stream.ReadExactlyAsync(received);
        received.Should().Equal(sent);
        vm.Kill();
        await vm.WaitForDeathAsync();
    }
}
