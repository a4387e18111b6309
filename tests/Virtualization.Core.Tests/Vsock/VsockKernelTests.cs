using System.Net;
using System.Net.Sockets;
using Virtualization.Core.Tests.Infrastructure;
using Virtualization.Core.Vsock;
using static Virtualization.Core.Tests.Vsock.VsockTestSupport;

namespace Virtualization.Core.Tests.Vsock;

/// <summary>
/// Real AF_VSOCK, without ever connecting: on these machines a vsock connect leaves the machine for its host.
/// socket, bind, listen, getsockname, setsockopt, ioctl and a pending accept are all local.
/// </summary>
public sealed class VsockKernelTests
{
    [SkippableFact(Timeout = 10000)]
    public async Task Listener_OnAnyPort_ReportsThePortTheKernelChose()
    {
        Requirement.Require(Requirement.Vsock, VsockAvailable(out string reason), reason);

        await using VsockListener listener = VsockListener.Start(VsockEndPoint.AnyPort);

        listener.LocalEndPoint.Port.Should().NotBe(VsockEndPoint.AnyPort);
        unchecked((uint)listener.LocalEndPoint.Port).Should().BeGreaterThanOrEqualTo(1024u, "the kernel hands out unprivileged ephemeral ports (any u32 above 1023)");
        listener.LocalEndPoint.Cid.Should().Be(VsockEndPoint.Any);
        listener.ToString().Should().Be($"VsockListener vsock:any:{unchecked((uint)listener.LocalEndPoint.Port)}", "ports print unsigned");
    }

    [SkippableFact]
    public void NativeBindOfTheManagedSockaddr_IsUnderstoodByTheKernel()
    {
        Requirement.Require(Requirement.Vsock, VsockAvailable(out string reason), reason);

        using SafeSocketHandle fd = Interop.Sockets.Socket(Interop.Sockets.AF_VSOCK, Interop.Sockets.SOCK_STREAM | Interop.Sockets.SOCK_CLOEXEC, 0);
        fd.IsInvalid.Should().BeFalse();
        SocketAddress any = new VsockEndPoint(VsockEndPoint.Any, VsockEndPoint.AnyPort).Serialize();
        Interop.Sockets.Bind(fd, any.Buffer.Span[..any.Size], any.Size).Should().Be(0, "errno {0}", Interop.LastErrno);
        TestInterop.Listen(fd, 4).Should().Be(0, "errno {0}", Interop.LastErrno);

        Span<byte> buffer = stackalloc byte[128];
        int length = buffer.Length;
        Interop.Sockets.GetSockName(fd, buffer, ref length).Should().Be(0, "errno {0}", Interop.LastErrno);

        length.Should().Be(16);
        VsockEndPoint bound = VsockEndPoint.Read(buffer[..length]);
        bound.Cid.Should().Be(VsockEndPoint.Any);
        unchecked((uint)bound.Port).Should().BeInRange(1024u, 0xFFFFFFFEu);
    }

    [SkippableFact]
    public void Binding_APortInUse_NamesThePortAndTheFix()
    {
        Requirement.Require(Requirement.Vsock, VsockAvailable(out string reason), reason);
        using VsockListener first = VsockListener.Start(VsockEndPoint.AnyPort);
        int port = first.LocalEndPoint.Port;

        var act = () => VsockListener.Start(port);

        VsockException ex = act.Should().Throw<VsockException>().Which;
        ex.Errno.Should().Be((int)Interop.Errno.EADDRINUSE);
        ex.Message.Should().Contain($"port {unchecked((uint)port)} in any CID").And.Contain("already in use").And.Contain("AnyPort");
        ex.EndPoint.Should().Be(new VsockEndPoint(VsockEndPoint.Any, port));
    }

    [SkippableFact]
    public void LocalCid_ComesFromDevVsock()
    {
        Requirement.Require(Requirement.Vsock, File.Exists("/dev/vsock"), "/dev/vsock is absent: the vsock core module is not loaded on this machine");

        int cid = VsockEndPoint.GetLocalCid();

        cid.Should().NotBe(VsockEndPoint.Any).And.NotBe(VsockEndPoint.Hypervisor);
        cid.Should().BeGreaterThanOrEqualTo(VsockEndPoint.Host, "a host reports 2, a guest its own CID (3 or more)");
    }

    [SkippableFact(Timeout = 10000)]
    public async Task Accept_OnAVsockListener_IsCancellable()
    {
        Requirement.Require(Requirement.Vsock, VsockAvailable(out string reason), reason);
        await using VsockListener listener = VsockListener.Start(VsockEndPoint.AnyPort);
        using var cts = new CancellationTokenSource();

        Task<VsockConnection> accept = listener.AcceptAsync(cts.Token);
        accept.IsCompleted.Should().BeFalse("nobody connects");
        Exception? error = await CancelAndCatchAsync(accept, cts);

        error.Should().BeAssignableTo<OperationCanceledException>("cancellation ends the accept within the test's timeout");

        // The listener survives a cancelled accept: a second one pends again.
        using var second = new CancellationTokenSource();
        Task<VsockConnection> again = listener.AcceptAsync(second.Token);
        again.IsCompleted.Should().BeFalse();
        error = await CancelAndCatchAsync(again, second);
        error.Should().BeAssignableTo<OperationCanceledException>();
    }

    [SkippableFact(Timeout = 10000)]
    public async Task DisposingAVsockListener_EndsAPendingAccept()
    {
        Requirement.Require(Requirement.Vsock, VsockAvailable(out string reason), reason);
        VsockListener listener = VsockListener.Start(VsockEndPoint.AnyPort);
        Task<VsockConnection> accept = listener.AcceptAsync();

        await listener.DisposeAsync();

        await accept.Invoking(t => t).Should().ThrowAsync<ObjectDisposedException>();
        await listener.Invoking(l => l.AcceptAsync()).Should().ThrowAsync<ObjectDisposedException>();
    }

    [SkippableFact]
    public void ConnectTimeoutOption_IsSetOnTheVsockSocket()
    {
        Requirement.Require(Requirement.Vsock, VsockAvailable(out string reason), reason);
        NativeAddress address = NativeAddress.ForVsock(new VsockEndPoint(3, 5000));
        using Socket socket = NativeSockets.Create(address);

        NativeSockets.SetVsockConnectTimeout(socket, TimeSpan.FromMilliseconds(1500), address);

        byte[] value = new byte[16];
        socket.GetRawSocketOption(Interop.Sockets.AF_VSOCK, Interop.Sockets.SO_VM_SOCKETS_CONNECT_TIMEOUT, value).Should().Be(16);
        BitConverter.ToInt64(value, 0).Should().Be(1, "seconds");
        BitConverter.ToInt64(value, 8).Should().Be(500_000, "microseconds");
    }

    [SkippableFact]
    public void VsockSockets_AreCloseOnExec()
    {
        Requirement.Require(Requirement.Vsock, VsockAvailable(out string reason), reason);
        using Socket socket = NativeSockets.Create(NativeAddress.ForVsock(new VsockEndPoint(VsockEndPoint.Any, VsockEndPoint.AnyPort)));

        (FdFlags(socket.SafeHandle) & O_CLOEXEC).Should().Be(O_CLOEXEC);
        socket.AddressFamily.Should().Be(AddressFamily.Unknown, "what .NET reports for AF_VSOCK");
        socket.SocketType.Should().Be(SocketType.Stream);
    }
}
