using System.Net.Sockets;
using System.Security.Cryptography;
using Virtualization.Core.Tests.Infrastructure;
using Virtualization.Core.Vsock;
using static Virtualization.Core.Tests.Vsock.VsockTestSupport;

namespace Virtualization.Core.Tests.Vsock;

/// <summary>
/// The data path of the vsock layer (native socket → Socket engine → accept loop, connector, streams,
/// cancellation, errors, disposal) driven over AF_UNIX, which behaves the same and stays on this machine.
/// </summary>
public sealed class UnixSocketPathTests : IDisposable
{
    private readonly string _dir = NewSocketDirectory();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathFor(string name) => Path.Combine(_dir, name);

    [Fact(Timeout = 10000)]
    public async Task ConnectAndAccept_EchoAMegabyte()
    {
        NativeAddress address = NativeAddress.ForUnix(PathFor("echo.sock"));
        await using NativeListener listener = NativeListener.Start(address, backlog: 16);
        byte[] payload = RandomNumberGenerator.GetBytes(1 << 20);

        Task server = Task.Run(async () =>
        {
            using Socket accepted = await listener.AcceptAsync(CancellationToken.None);
            await using var stream = new NetworkStream(accepted, ownsSocket: false);
            await stream.CopyToAsync(stream); // echo until the client shuts down its side
        });

        await using NetworkStream client = await NativeSockets.ConnectAsync(address, TimeSpan.FromSeconds(5), CancellationToken.None);
        Task write = Task.Run(async () =>
        {
            await client.WriteAsync(payload);
            client.Socket.Shutdown(SocketShutdown.Send);
        });
        var received = new MemoryStream();
        await client.CopyToAsync(received);
        await write;
        await server;

        received.ToArray().Should().Equal(payload);
    }

    [Fact(Timeout = 10000)]
    public async Task UnixSockets_FromTheFactoryAndFromAccept_AreCloseOnExec()
    {
        NativeAddress address = NativeAddress.ForUnix(PathFor("cloexec.sock"));
        await using NativeListener listener = NativeListener.Start(address, backlog: 4);
        Task<Socket> accept = listener.AcceptAsync(CancellationToken.None);
        await using NetworkStream client = await NativeSockets.ConnectAsync(address, TimeSpan.FromSeconds(5), CancellationToken.None);
        using Socket accepted = await accept;

        (FdFlags(listener.Socket.SafeHandle) & O_CLOEXEC).Should().Be(O_CLOEXEC);
        (FdFlags(client.Socket.SafeHandle) & O_CLOEXEC).Should().Be(O_CLOEXEC);
        (FdFlags(accepted.SafeHandle) & O_CLOEXEC).Should().Be(O_CLOEXEC);
    }

    [Fact(Timeout = 10000)]
    public async Task LocalAddress_ComesBackThroughGetsockname_AndDecodesToThePath()
    {
        string path = PathFor("name.sock");
        NativeAddress address = NativeAddress.ForUnix(path);
        await using NativeListener listener = NativeListener.Start(address, backlog: 4);

        var local = (UnixDomainSocketEndPoint)address.Decode(listener.LocalSockAddr);
        local.ToString().Should().Be(path);
        listener.Socket.LocalEndPoint!.ToString().Should().Be(path, "Socket decodes through the typed end point too");
    }

    [Fact(Timeout = 10000)]
    public async Task NativeClient_ReachesTheManagedAcceptLoop()
    {
        NativeAddress address = NativeAddress.ForUnix(PathFor("native-client.sock"));
        await using NativeListener listener = NativeListener.Start(address, backlog: 4);
        Task<Socket> accept = listener.AcceptAsync(CancellationToken.None);

        SafeSocketHandle fd = Interop.Sockets.Socket(Interop.Sockets.AF_UNIX, Interop.Sockets.SOCK_STREAM | Interop.Sockets.SOCK_CLOEXEC, 0);
        fd.IsInvalid.Should().BeFalse();
        // A unix connect to a listener with room in its queue completes at once, so a blocking call is fine here.
        TestInterop.Connect(fd, address.SockAddr, address.SockAddr.Length).Should().Be(0, "errno {0}", Interop.LastErrno);
        using var client = new Socket(fd);
        using Socket accepted = await accept;

        await client.SendAsync("ping"u8.ToArray());
        byte[] buffer = new byte[4];
        int read = await accepted.ReceiveAsync(buffer);
        buffer[..read].Should().Equal("ping"u8.ToArray());

        byte[] peer = NativeSockets.GetPeerName(accepted, address);
        BitConverter.ToUInt16(peer).Should().Be(Interop.Sockets.AF_UNIX, "an unnamed unix client has just the family");
    }

    [Fact(Timeout = 10000)]
    public async Task Connector_ReachesANativelyBoundListener_AndAccept4ReturnsIt()
    {
        NativeAddress address = NativeAddress.ForUnix(PathFor("native-server.sock"));
        using SafeSocketHandle server = Interop.Sockets.Socket(Interop.Sockets.AF_UNIX, Interop.Sockets.SOCK_STREAM | Interop.Sockets.SOCK_CLOEXEC, 0);
        Interop.Sockets.Bind(server, address.SockAddr, address.SockAddr.Length).Should().Be(0, "errno {0}", Interop.LastErrno);
        TestInterop.Listen(server, 4).Should().Be(0, "errno {0}", Interop.LastErrno);

        await using NetworkStream client = await NativeSockets.ConnectAsync(address, TimeSpan.FromSeconds(5), CancellationToken.None);

        // The connection is queued, so accept4 returns without blocking.
        byte[] peer = new byte[128];
        int peerLength = peer.Length;
        SafeSocketHandle acceptedFd = TestInterop.Accept4(server, peer, ref peerLength, Interop.Sockets.SOCK_CLOEXEC);
        acceptedFd.IsInvalid.Should().BeFalse("errno {0}", Interop.LastErrno);
        (FdFlags(acceptedFd) & O_CLOEXEC).Should().Be(O_CLOEXEC);
        using var accepted = new Socket(acceptedFd);

        await client.WriteAsync("hello"u8.ToArray());
        byte[] buffer = new byte[5];
        await accepted.ReceiveAsync(buffer);
        buffer.Should().Equal("hello"u8.ToArray());
    }

    [Fact(Timeout = 10000)]
    public async Task Accept_Cancelled_EndsWithOperationCanceled_AndTheListenerKeepsWorking()
    {
        NativeAddress address = NativeAddress.ForUnix(PathFor("cancel-accept.sock"));
        await using NativeListener listener = NativeListener.Start(address, backlog: 4);
        using var cts = new CancellationTokenSource();

        Task<Socket> accept = listener.AcceptAsync(cts.Token);
        accept.IsCompleted.Should().BeFalse();
        Exception? error = await CancelAndCatchAsync(accept, cts);

        error.Should().BeAssignableTo<OperationCanceledException>("the wait ends on cancellation, within the test's timeout");

        Task<Socket> next = listener.AcceptAsync(CancellationToken.None);
        await using NetworkStream client = await NativeSockets.ConnectAsync(address, TimeSpan.FromSeconds(5), CancellationToken.None);
        using Socket accepted = await next;
        accepted.Connected.Should().BeTrue();
    }

    [Fact(Timeout = 10000)]
    public async Task Connect_Cancelled_EndsWithOperationCanceledOnThatToken()
    {
        await using FullBacklogTcpTarget target = await FullBacklogTcpTarget.CreateAsync();
        using var cts = new CancellationTokenSource();

        Task<NetworkStream> connect = NativeSockets.ConnectAsync(target.Address, Timeout.InfiniteTimeSpan, cts.Token);
        connect.IsCompleted.Should().BeFalse("the accept queue is full, so the SYN is dropped");
        Exception? error = await CancelAndCatchAsync(connect, cts);

        error.Should().BeAssignableTo<OperationCanceledException>()
            .Which.CancellationToken.Should().Be(cts.Token, "cancellation ends the connect within the test's timeout");
    }

    [Fact(Timeout = 10000)]
    public async Task ConnectTimeout_ReportsEtimedoutWithTheConfiguredValue()
    {
        await using FullBacklogTcpTarget target = await FullBacklogTcpTarget.CreateAsync();

        VsockException ex = target.ProbeTimeout;
        ex.Errno.Should().Be((int)Interop.Errno.ETIMEDOUT);
        ex.Message.Should().Contain($"Connecting to {target.Address.Description} timed out after 250 ms");
        // ETIMEDOUT with the configured value in the message is the proof; no duration is asserted (machine load).
    }

    [Fact(Timeout = 10000)]
    public async Task AlreadyCancelledToken_NeverCreatesASocket()
    {
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        Func<Task> act = () => NativeSockets.ConnectAsync(NativeAddress.ForUnix(PathFor("x.sock")), TimeSpan.FromSeconds(1), cts.Token);

        await act.Should().ThrowAsync<OperationCanceledException>();
    }

    [Theory(Timeout = 10_000)]
    [InlineData(0)]
    [InlineData(-5)]
    public async Task NonPositiveTimeouts_AreRejected(int milliseconds)
    {
        Func<Task> act = () => NativeSockets.ConnectAsync(NativeAddress.ForUnix(PathFor("x.sock")), TimeSpan.FromMilliseconds(milliseconds), CancellationToken.None);

        await act.Should().ThrowAsync<ArgumentOutOfRangeException>().WithParameterName("timeout");
    }

    [Fact(Timeout = 10000)]
    public async Task ConnectionRefused_NamesThePortAndTheVmCid()
    {
        string path = PathFor("refused.sock");
        // Bound but never listening: refused for sure. (A listener that is closed again may still accept for an instant,
        // while a process forked meanwhile by another test holds a copy of its descriptor.)
        using var bound = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        bound.Bind(new UnixDomainSocketEndPoint(path));
        var connector = new UnixSocketVsockConnector((cid, port) => path);

        Func<Task> act = () => connector.ConnectAsync(7, 5000, TimeSpan.FromSeconds(5), CancellationToken.None);

        VsockException ex = (await act.Should().ThrowAsync<VsockException>()).Which;
        ex.Errno.Should().Be((int)Interop.Errno.ECONNREFUSED);
        ex.Message.Should().StartWith("Nothing listening on port 5000 in VM CID 7");
        ex.EndPoint.Should().Be(new VsockEndPoint(7, 5000));
        ex.InnerException.Should().BeOfType<SocketException>()
            .Which.SocketErrorCode.Should().Be(SocketError.ConnectionRefused);
    }

    [Fact(Timeout = 10000)]
    public async Task MissingSocketFile_AlsoMeansNothingIsListening()
    {
        var connector = new UnixSocketVsockConnector((cid, port) => PathFor($"{cid}-{port}.sock"));

        Func<Task> act = () => connector.ConnectAsync(9, 1234, TimeSpan.FromSeconds(5), CancellationToken.None);

        VsockException ex = (await act.Should().ThrowAsync<VsockException>()).Which;
        ex.Errno.Should().Be((int)Interop.Errno.ENOENT);
        ex.Message.Should().StartWith("Nothing listening on port 1234 in VM CID 9").And.Contain("does not exist");
    }

    [Fact(Timeout = 10000)]
    public async Task UnixConnector_MapsCidAndPortToAPath()
    {
        string path = PathFor("3-5000.sock");
        await using NativeListener listener = NativeListener.Start(NativeAddress.ForUnix(path), backlog: 4);
        Task<Socket> accept = listener.AcceptAsync(CancellationToken.None);
        var connector = new UnixSocketVsockConnector((cid, port) => PathFor($"{cid}-{port}.sock"));

        await using VsockConnection connection = await ((IVsockConnector)connector).ConnectAsync(3, 5000, TimeSpan.FromSeconds(5), CancellationToken.None);
        Stream stream = connection.Stream;
        connection.RemoteEndPoint.Should().Be(new VsockEndPoint(3, 5000));
        connection.LocalEndPoint.Should().Be(new VsockEndPoint(VsockEndPoint.Host, VsockEndPoint.AnyPort), "a unix socket stands in for the host's end");
        using Socket accepted = await accept;

        await accepted.SendAsync("ok"u8.ToArray());
        byte[] buffer = new byte[2];
        await stream.ReadExactlyAsync(buffer);
        buffer.Should().Equal("ok"u8.ToArray());
    }

    [Fact(Timeout = 10000)]
    public async Task DisposingTheListener_EndsAPendingAcceptWithObjectDisposedException()
    {
        NativeListener listener = NativeListener.Start(NativeAddress.ForUnix(PathFor("dispose.sock")), backlog: 4);
        Task<Socket> accept = listener.AcceptAsync(CancellationToken.None);
        accept.IsCompleted.Should().BeFalse();

        await listener.DisposeAsync();

        await accept.Invoking(t => t).Should().ThrowAsync<ObjectDisposedException>();
        await listener.Invoking(l => l.AcceptAsync(CancellationToken.None)).Should().ThrowAsync<ObjectDisposedException>();
        listener.Dispose(); // twice is fine
    }

    [Fact(Timeout = 10000)]
    public async Task DisposingTheStream_ClosesTheSocket_AndThePeerReadsEndOfStream()
    {
        NativeAddress address = NativeAddress.ForUnix(PathFor("eof.sock"));
        await using NativeListener listener = NativeListener.Start(address, backlog: 4);
        Task<Socket> accept = listener.AcceptAsync(CancellationToken.None);
        NetworkStream client = await NativeSockets.ConnectAsync(address, TimeSpan.FromSeconds(5), CancellationToken.None);
        using Socket accepted = await accept;
        SafeSocketHandle handle = client.Socket.SafeHandle;

        await client.DisposeAsync();

        handle.IsClosed.Should().BeTrue("the stream owns the socket");
        int read = await accepted.ReceiveAsync(new byte[1]);
        read.Should().Be(0);
    }

    [Fact(Timeout = 10000)]
    public async Task VsockConnection_OwnsItsSocket()
    {
        NativeAddress address = NativeAddress.ForUnix(PathFor("connection.sock"));
        await using NativeListener listener = NativeListener.Start(address, backlog: 4);
        Task<Socket> accept = listener.AcceptAsync(CancellationToken.None);
        await using NetworkStream client = await NativeSockets.ConnectAsync(address, TimeSpan.FromSeconds(5), CancellationToken.None);
        var connection = new VsockConnection(new NetworkStream(await accept, ownsSocket: true), new VsockEndPoint(VsockEndPoint.Any, 5000), new VsockEndPoint(3, 1030));

        connection.ToString().Should().Be("vsock:any:5000 <-> vsock:3:1030");
        await connection.Stream.WriteAsync("x"u8.ToArray());
        byte[] one = new byte[1];
        await client.ReadExactlyAsync(one);
        one[0].Should().Be((byte)'x');

        await connection.DisposeAsync();

        connection.Socket.SafeHandle.IsClosed.Should().BeTrue();
        (await client.ReadAsync(one)).Should().Be(0);
    }

    [Fact]
    public void Close_ReleasesARawDescriptor_AndReportsEbadfForABadOne()
    {
        SafeSocketHandle handle = Interop.Sockets.Socket(Interop.Sockets.AF_UNIX, Interop.Sockets.SOCK_STREAM | Interop.Sockets.SOCK_CLOEXEC, 0);
        int fd = (int)handle.DangerousGetHandle();
        handle.SetHandleAsInvalid(); // ownership passes to the raw descriptor

        Interop.Sys.Close(fd).Should().Be(0);
        // Not fd again: another test may already have been given that number.
        Interop.Sys.Close(-1).Should().Be(-1);
        Interop.LastErrno.Should().Be(Interop.Errno.EBADF);
    }
}
