using System.Net.Sockets;
using System.Threading.Channels;
using Virtualization.Core.Payload;
using Virtualization.Core.Tests.Infrastructure;
using static Virtualization.Core.Tests.Payload.PayloadTestStreams;

namespace Virtualization.Core.Tests.Payload;

/// <summary>
/// The vsock transport's host side. Connections come from a test acceptor whose peer CIDs the test chooses (a vsock
/// connect must never be made from these machines); the real AF_VSOCK listener is only bound and cancelled.
/// </summary>
public sealed class PayloadVsockTests : IDisposable
{
    private const int Cid = 21;
    private readonly TempDir _temp = new("vct-vsock-");
    private readonly ListLogger _log = new();
    private readonly TestAcceptor _acceptor = new();
    private readonly Channel<(PayloadReport Report, Stream? Stdio)> _applied = Channel.CreateUnbounded<(PayloadReport, Stream?)>();
    private int _pairs;

    public void Dispose()
    {
        _log.Dispose();
        _temp.Dispose();
    }

    private PayloadHost Host(bool stdio = false) => new(
        Cid,
        new PayloadChannelOptions { Transport = PayloadTransport.Vsock, Stdio = stdio },
        _temp.Path,
        _log,
        (report, stream) =>
        {
            _applied.Writer.TryWrite((report, stream));
            return null;
        },
        port =>
        {
            port.Should().Be(Cid, "the host listens on port = the VM's CID");
            return _acceptor;
        });

    /// <summary>A connected pair of stream sockets: (guest end, host end).</summary>
    private async Task<(NetworkStream Guest, NetworkStream Host)> PairAsync()
    {
        string path = Path.Combine(_temp.Path, $"pair-{Interlocked.Increment(ref _pairs)}.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        var guest = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await guest.ConnectAsync(new UnixDomainSocketEndPoint(path));
        Socket host = await listener.AcceptAsync();
        return (new NetworkStream(guest, ownsSocket: true), new NetworkStream(host, ownsSocket: true));
    }

    /// <summary>Whether the other end closed: end of stream, or a reset because it closed with our bytes unread.</summary>
    private static async Task<bool> ClosedByPeerAsync(Stream stream)
    {
        try
        {
            return await stream.ReadAsync(new byte[1]) == 0;
        }
        catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset })
        {
            return true;
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task OwnCid_ControlConnection_ReportsReachTheVm()
    {
        await using PayloadHost host = Host();
        host.Listen();
        (NetworkStream guest, NetworkStream hostEnd) = await PairAsync();
        await using (guest)
        {
            _acceptor.Offer(hostEnd, Cid);
            await guest.WriteAsync(Concat(ControlHello, PayloadWire.Started(), PayloadWire.Finished(6)));

            (await _applied.Reader.ReadAsync()).Report.Kind.Should().Be(PayloadReportKind.Started);
            (await _applied.Reader.ReadAsync()).Report.Should().Be(new PayloadReport(PayloadReportKind.Finished, 6));
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task OtherCid_IsClosedUnread_AndNeverReachesTheVm()
    {
        await using PayloadHost host = Host();
        host.Listen();
        (NetworkStream intruder, NetworkStream intruderHostEnd) = await PairAsync();
        (NetworkStream guest, NetworkStream guestHostEnd) = await PairAsync();
        await using (intruder)
        await using (guest)
        {
            await intruder.WriteAsync(Concat(ControlHello, PayloadWire.Started(), PayloadWire.Ready()));
            _acceptor.Offer(intruderHostEnd, Cid + 1);
            (await ClosedByPeerAsync(intruder)).Should().BeTrue("the host closed the foreign connection");

            _acceptor.Offer(guestHostEnd, Cid);
            await guest.WriteAsync(Concat(ControlHello, PayloadWire.Finished(0)));
            (await _applied.Reader.ReadAsync()).Report.Kind.Should().Be(PayloadReportKind.Finished, "only the VM's own connection is read");
            _applied.Reader.TryRead(out _).Should().BeFalse();
            _log.Entries.Should().Contain(e => e.Message.Contains($"refused a connection from peer CID {Cid + 1}", StringComparison.Ordinal));
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task StdioConnection_IsHandedOverWithStarted_WithItsBytesIntact()
    {
        await using PayloadHost host = Host(stdio: true);
        host.Listen();
        (NetworkStream guestStdio, NetworkStream hostStdio) = await PairAsync();
        (NetworkStream guestControl, NetworkStream hostControl) = await PairAsync();
        await using (guestStdio)
        await using (guestControl)
        {
            await guestStdio.WriteAsync(Concat(PayloadWire.Hello(PayloadChannelKind.Stdio), "first output\n"u8.ToArray()));
            _acceptor.Offer(hostStdio, Cid);
            _acceptor.Offer(hostControl, Cid);
            await guestControl.WriteAsync(Concat(ControlHello, PayloadWire.Started()));

            (PayloadReport report, Stream? stdio) = await _applied.Reader.ReadAsync();
            report.Kind.Should().Be(PayloadReportKind.Started);
            stdio.Should().BeSameAs(hostStdio);
            using var reader = new StreamReader(stdio!, leaveOpen: true);
            (await reader.ReadLineAsync()).Should().Be("first output");
            host.MarkStdioDelivered();
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task SecondControlConnection_IsClosed()
    {
        await using PayloadHost host = Host();
        host.Listen();
        (NetworkStream first, NetworkStream firstHost) = await PairAsync();
        (NetworkStream second, NetworkStream secondHost) = await PairAsync();
        await using (first)
        await using (second)
        {
            _acceptor.Offer(firstHost, Cid);
            await first.WriteAsync(Concat(ControlHello, PayloadWire.Started()));
            await _applied.Reader.ReadAsync();

            _acceptor.Offer(secondHost, Cid);
            await second.WriteAsync(Concat(ControlHello, PayloadWire.Ready()));
            (await ClosedByPeerAsync(second)).Should().BeTrue();
            _applied.Reader.TryRead(out _).Should().BeFalse();
        }
    }

    [SkippableFact(Timeout = 30_000)]
    public async Task RealVsockListener_BindsThePort_AndAcceptIsCancellable()
    {
        Skip.IfNot(File.Exists("/dev/vsock"), "/dev/vsock is absent: no AF_VSOCK on this host");
        uint port = 0x4000_0000u + (uint)Random.Shared.Next(1, 1 << 20);
        VsockPayloadAcceptor acceptor;
        try
        {
            acceptor = VsockPayloadAcceptor.Start(port);
        }
        catch (VsockException e) when (e.Errno is 97 or 93 or 94)
        {
            throw new SkipException($"AF_VSOCK sockets cannot be created here: {e.Message}");
        }

        using (acceptor)
        {
            acceptor.Description.Should().Be($"vsock port {port}");
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
            Func<Task> accept = () => acceptor.AcceptAsync(cts.Token);
            await accept.Should().ThrowAsync<OperationCanceledException>();
        }
    }

    /// <summary>Hands out the connections a test offers, with the peer CID the test says.</summary>
    private sealed class TestAcceptor : IPayloadAcceptor
    {
        private readonly Channel<PayloadConnection> _queue = Channel.CreateUnbounded<PayloadConnection>();

        public string Description => "test vsock port";

        public void Offer(Stream stream, uint peerCid) =>
            _queue.Writer.TryWrite(new PayloadConnection(stream, peerCid, $"peer CID {peerCid}"));

        public async Task<PayloadConnection> AcceptAsync(CancellationToken cancellationToken) =>
            await _queue.Reader.ReadAsync(cancellationToken);

        public void Dispose() => _queue.Writer.TryComplete();
    }
}
