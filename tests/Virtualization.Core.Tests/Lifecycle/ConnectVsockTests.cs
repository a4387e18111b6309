using System.Net.Sockets;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Lifecycle;

/// <summary>
/// ConnectVsockAsync through the VM object. The fake VMM has no vsock, so the harness maps (CID, port) to a unix socket:
/// the same native connect path, without ever connecting an AF_VSOCK socket on this host.
/// </summary>
public sealed class ConnectVsockTests
{
    [Fact(Timeout = 30_000)]
    public async Task ConnectVsockAsync_RunningVm_ReturnsConnectedStreamToGuestPort()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.StartAsync();
        using var guest = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        guest.Bind(new UnixDomainSocketEndPoint(h.VsockPath(vm.Cid, 5000)));
        guest.Listen();
        Task<Socket> accepted = guest.AcceptAsync();

        await using VsockConnection connection = await vm.ConnectVsockAsync(5000);
        Stream stream = connection.Stream;
        connection.RemoteEndPoint.Should().Be(new VsockEndPoint(vm.Cid, 5000), "the same connection type the listener hands out, naming the guest's end");
        using Socket server = await accepted;
        await stream.WriteAsync("ping"u8.ToArray());
        var buffer = new byte[4];
        await server.ReceiveAsync(buffer, SocketFlags.None);
        buffer.Should().Equal("ping"u8.ToArray());
        await server.SendAsync("pong"u8.ToArray(), SocketFlags.None);
        await stream.ReadExactlyAsync(buffer);
        buffer.Should().Equal("pong"u8.ToArray());
    }

    [Fact(Timeout = 30_000)]
    public async Task ConnectVsockAsync_NothingListening_SaysWhichPortAndCid()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.StartAsync();

        Func<Task> connect = () => vm.ConnectVsockAsync(4321);

        (await connect.Should().ThrowAsync<VsockException>()).Which.Message.Should().Contain("4321").And.Contain(vm.Cid.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact(Timeout = 30_000)]
    public async Task ConnectVsockAsync_NotRunning_ThrowsVmIsNotRunning()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.CreateAsync();

        Func<Task> beforeStart = () => vm.ConnectVsockAsync(5000);
        (await beforeStart.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain("VM is not running");

        vm.Kill();
        await vm.WaitForDeathAsync();
        Func<Task> afterDeath = () => vm.ConnectVsockAsync(5000);
        (await afterDeath.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain("VM is not running");
    }

    /// <summary>The VM hands the connector its CID, the port, <see cref="VirtualizationServiceOptions.VsockConnectTimeout"/> and the caller's token.</summary>
    [Fact(Timeout = 30_000)]
    public async Task ConnectVsockAsync_PassesCidPortConfiguredTimeoutAndToken_ToTheConnector()
    {
        var connector = new RecordingConnector();
        await using var h = new TestHarness(o => o with { VsockConnectTimeout = TimeSpan.FromMilliseconds(1234) }, vsock: connector);
        IVirtualMachine vm = await h.StartAsync();
        using var cts = new CancellationTokenSource();

        Func<Task> connect = () => vm.ConnectVsockAsync(5005, cts.Token);

        (await connect.Should().ThrowAsync<IOException>()).Which.Message.Should().Be(RecordingConnector.Refusal);
        connector.Calls.Should().Equal((vm.Cid, 5005, TimeSpan.FromMilliseconds(1234), cts.Token));
    }

    /// <summary>The real AF_VSOCK connector (the public constructor) with a cancelled token gives up before creating any socket.</summary>
    [Fact(Timeout = 30_000)]
    public async Task ConnectVsockAsync_OverRealVsock_WithACancelledToken_ThrowsBeforeAnySocket()
    {
        await using var h = new TestHarness(realVsock: true);
        IVirtualMachine vm = await h.StartAsync();

        Func<Task> connect = () => vm.ConnectVsockAsync(5000, new CancellationToken(canceled: true));

        await connect.Should().ThrowAsync<OperationCanceledException>();
    }

    private sealed class RecordingConnector : Virtualization.Core.Vsock.IVsockConnector
    {
        // The recorder refuses every connection: the test needs only what it was asked.
        public const string Refusal = "recorded, not connected";

        public List<(int Cid, int Port, TimeSpan Timeout, CancellationToken Token)> Calls { get; } = [];

        public Task<VsockConnection> ConnectAsync(int cid, int port, TimeSpan timeout, CancellationToken cancellationToken)
        {
            Calls.Add((cid, port, timeout, cancellationToken));
            return Task.FromException<VsockConnection>(new IOException(Refusal));
        }
    }
}
