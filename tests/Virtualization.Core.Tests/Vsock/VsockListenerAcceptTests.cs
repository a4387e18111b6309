using System.Net.Sockets;
using System.Text;
using Virtualization.Core.Vsock;
using static Virtualization.Core.Tests.Vsock.VsockTestSupport;

namespace Virtualization.Core.Tests.Vsock;

/// <summary>
/// <see cref="VsockListener.AcceptAsync"/> returning connections, driven over AF_UNIX through
/// <see cref="VsockListener.StartOver"/> (an AF_VSOCK connect is not allowed on these machines). The end-point reader
/// maps each socket path to a CID of the test's choosing and numbers the reads of each path in the port, so the
/// end points show which address was read, and when.
/// </summary>
public sealed class VsockListenerAcceptTests : IDisposable
{
    private const int ListenerCid = 2;
    private const int ErrnoConnectionRefused = 111; // ECONNREFUSED, linux/errno.h

    private readonly string _dir = NewSocketDirectory();
    private readonly Dictionary<string, int> _cidOfPath = [];
    private readonly Dictionary<string, int> _readsOfPath = [];
    private readonly object _gate = new();

    public VsockListenerAcceptTests() => _cidOfPath[ListenerPath] = ListenerCid;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string ListenerPath => Path.Combine(_dir, "listener.sock");

    /// <summary>When set, the next read fails with this exception.</summary>
    private Exception? FailNextRead { get; set; }

    [Fact(Timeout = 10000)]
    public async Task Accept_ReturnsAConnectionThatCarriesBytesBothWays()
    {
        await using VsockListener listener = Start();
        using Socket client = await ConnectBoundClientAsync("client.sock", cid: 3);
        await using VsockConnection connection = await listener.AcceptAsync();

        await client.SendAsync(new byte[] { 0x70, 0x69, 0x6E, 0x67, 0x00, 0xFF });
        byte[] received = new byte[6];
        await connection.Stream.ReadExactlyAsync(received);
        received.Should().Equal(0x70, 0x69, 0x6E, 0x67, 0x00, 0xFF);

        await connection.Stream.WriteAsync(new byte[] { 0x70, 0x6F, 0x6E, 0x67, 0x21 });
        byte[] reply = await ReceiveExactlyAsync(client, 5);
        reply.Should().Equal(0x70, 0x6F, 0x6E, 0x67, 0x21);

        connection.Socket.Should().BeSameAs(connection.Stream.Socket);
    }

    [Fact(Timeout = 10000)]
    public async Task EndPoints_ComeFromGetsocknameAndGetpeernameOfTheAcceptedSocket()
    {
        await using VsockListener listener = Start();
        using Socket client = await ConnectBoundClientAsync("client.sock", cid: 3);
        await using VsockConnection connection = await listener.AcceptAsync();

        // Read 1 of the listener's path: its bound address, at Start.
        listener.LocalEndPoint.Should().Be(new VsockEndPoint(ListenerCid, 1));
        // Read 2 of the listener's path: getsockname of the accepted socket, read at accept (not the listener's value reused).
        connection.LocalEndPoint.Should().Be(new VsockEndPoint(ListenerCid, 2));
        // getpeername of the accepted socket: the client's bound path (the listening socket has no peer).
        connection.RemoteEndPoint.Should().Be(new VsockEndPoint(3, 1));
    }

    [Fact(Timeout = 10000)]
    public async Task TwoConnections_AreAcceptedInOrder_AndAreDistinct()
    {
        await using VsockListener listener = Start();
        using Socket first = await ConnectBoundClientAsync("first.sock", cid: 3);
        using Socket second = await ConnectBoundClientAsync("second.sock", cid: 4);

        await using VsockConnection a = await listener.AcceptAsync();
        await using VsockConnection b = await listener.AcceptAsync();

        a.RemoteEndPoint.Should().Be(new VsockEndPoint(3, 1));
        b.RemoteEndPoint.Should().Be(new VsockEndPoint(4, 1));
        a.LocalEndPoint.Should().Be(new VsockEndPoint(ListenerCid, 2));
        b.LocalEndPoint.Should().Be(new VsockEndPoint(ListenerCid, 3));
        a.Should().NotBeSameAs(b);
        a.Socket.Should().NotBeSameAs(b.Socket);

        // Each connection reaches its own client only.
        await a.Stream.WriteAsync(new byte[] { 0xA1 });
        await b.Stream.WriteAsync(new byte[] { 0xB2, 0xB3 });
        (await ReceiveExactlyAsync(first, 1)).Should().Equal(0xA1);
        (await ReceiveExactlyAsync(second, 2)).Should().Equal(0xB2, 0xB3);

        await second.SendAsync(new byte[] { 0x02 });
        await first.SendAsync(new byte[] { 0x01 });
        byte[] fromFirst = new byte[1];
        byte[] fromSecond = new byte[1];
        await a.Stream.ReadExactlyAsync(fromFirst);
        await b.Stream.ReadExactlyAsync(fromSecond);
        fromFirst.Should().Equal(0x01);
        fromSecond.Should().Equal(0x02);
    }

    [Fact(Timeout = 10000)]
    public async Task DisposingTheConnection_ClosesTheSocket()
    {
        await using VsockListener listener = Start();
        using Socket client = await ConnectBoundClientAsync("client.sock", cid: 3);
        VsockConnection connection = await listener.AcceptAsync();

        await connection.DisposeAsync();

        (await client.ReceiveAsync(new byte[1])).Should().Be(0, "the peer reads end of file");
    }

    [Fact(Timeout = 10000)]
    public async Task CancelledAccept_Throws_AndTheListenerStillAccepts()
    {
        await using VsockListener listener = Start();
        using var cts = new CancellationTokenSource();
        Task<VsockConnection> pending = listener.AcceptAsync(cts.Token);
        pending.IsCompleted.Should().BeFalse("no client has connected");

        await cts.CancelAsync();
        await pending.Invoking(t => t).Should().ThrowAsync<OperationCanceledException>();

        using Socket client = await ConnectBoundClientAsync("client.sock", cid: 3);
        await using VsockConnection connection = await listener.AcceptAsync();
        connection.RemoteEndPoint.Should().Be(new VsockEndPoint(3, 1));
        await client.SendAsync(new byte[] { 0x2A });
        byte[] received = new byte[1];
        await connection.Stream.ReadExactlyAsync(received);
        received.Should().Equal(0x2A);
    }

    [Theory(Timeout = 10000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task DisposingTheListener_DuringAPendingAccept_ThrowsObjectDisposedException(bool disposeAsync)
    {
        VsockListener listener = Start();
        Task<VsockConnection> pending = listener.AcceptAsync();
        pending.IsCompleted.Should().BeFalse("no client has connected");

        if (disposeAsync)
        {
            await listener.DisposeAsync();
        }
        else
        {
            listener.Dispose();
        }

        await pending.Invoking(t => t).Should().ThrowAsync<ObjectDisposedException>();
        await listener.Invoking(l => l.AcceptAsync()).Should().ThrowAsync<ObjectDisposedException>();
    }

    [Fact(Timeout = 10000)]
    public async Task AcceptedSocket_WhenTheReaderFails_IsClosed_AndTheErrorPropagates()
    {
        await using VsockListener listener = Start();
        var failure = new InvalidDataException("reader failure for the test");
        FailNextRead = failure;
        using Socket client = await ConnectBoundClientAsync("client.sock", cid: 3);

        (await listener.Invoking(l => l.AcceptAsync()).Should().ThrowAsync<InvalidDataException>())
            .Which.Should().BeSameAs(failure);

        (await client.ReceiveAsync(new byte[1])).Should().Be(0, "the accepted socket was closed, so the peer reads end of file");
    }

    [Fact(Timeout = 10000)]
    public async Task ListeningSocket_WhenTheReaderFailsOnTheBoundAddress_IsClosed()
    {
        var failure = new InvalidDataException("reader failure for the test");
        FailNextRead = failure;

        this.Invoking(t => t.Start()).Should().Throw<InvalidDataException>().Which.Should().BeSameAs(failure);

        // The socket file stays behind; with nothing listening on it, a connect is refused.
        NativeAddress address = NativeAddress.ForUnix(ListenerPath);
        (await FluentActions.Invoking(() => NativeSockets.ConnectAsync(address, TimeSpan.FromSeconds(5), CancellationToken.None))
            .Should().ThrowAsync<VsockException>()).Which.Errno.Should().Be(ErrnoConnectionRefused);
    }

    private VsockListener Start() => VsockListener.StartOver(NativeAddress.ForUnix(ListenerPath), backlog: 4, Read);

    /// <summary>
    /// The test's end-point reader: the CID assigned to the socket path in the <c>sockaddr_un</c> (decoded here, not
    /// by the library), and as port how many times that path has been read so far.
    /// </summary>
    private VsockEndPoint Read(byte[] sockaddr)
    {
        lock (_gate)
        {
            if (FailNextRead is { } failure)
            {
                FailNextRead = null;
                throw failure;
            }

            BitConverter.ToUInt16(sockaddr).Should().Be(1, "an AF_UNIX address"); // AF_UNIX = 1
            byte[] sunPath = sockaddr[2..];
            int end = Array.IndexOf(sunPath, (byte)0);
            string path = Encoding.UTF8.GetString(sunPath, 0, end < 0 ? sunPath.Length : end);

            int reads = _readsOfPath.GetValueOrDefault(path) + 1;
            _readsOfPath[path] = reads;
            return new VsockEndPoint(_cidOfPath[path], reads);
        }
    }

    /// <summary>A client bound to its own path (so the accepted socket's peer has a name) and connected to the listener.</summary>
    private async Task<Socket> ConnectBoundClientAsync(string name, int cid)
    {
        string path = Path.Combine(_dir, name);
        lock (_gate)
        {
            _cidOfPath[path] = cid;
        }

        var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            client.Bind(new UnixDomainSocketEndPoint(path));
            await client.ConnectAsync(new UnixDomainSocketEndPoint(ListenerPath));
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    private static async Task<byte[]> ReceiveExactlyAsync(Socket socket, int count)
    {
        byte[] buffer = new byte[count];
        int read = 0;
        while (read < count)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(read));
            n.Should().BePositive("the peer must not close before sending {0} bytes", count);
            read += n;
        }

        return buffer;
    }
}
