using System.Net;
using System.Net.Sockets;

namespace Virtualization.Core.Vsock;

/// <summary>
/// The <see cref="EndPoint"/> handed to <see cref="Socket.Bind"/> and <see cref="Socket.ConnectAsync(EndPoint, CancellationToken)"/>
/// for a socket made from a native descriptor. <see cref="Socket"/> refuses to connect to an end point whose
/// <see cref="AddressFamily"/> differs from its own, and reports <see cref="AddressFamily.Unknown"/> for families it
/// does not know (<c>AF_VSOCK</c>), so this reports whatever the socket reports, serializes the raw
/// <c>sockaddr</c> of <see cref="NativeAddress"/>, and decodes kernel addresses with the typed end point (which
/// makes <see cref="Socket.LocalEndPoint"/>/<see cref="Socket.RemoteEndPoint"/> come back as, e.g., <see cref="VsockEndPoint"/>).
/// </summary>
internal sealed class NativeEndPoint(AddressFamily socketFamily, NativeAddress address) : EndPoint
{
    public override AddressFamily AddressFamily => socketFamily;

    public override SocketAddress Serialize()
    {
        ReadOnlySpan<byte> sockaddr = address.SockAddr;
        // Created unspecified and overwritten: SocketAddress throws for families .NET does not know.
        var result = new SocketAddress(AddressFamily.Unspecified, sockaddr.Length);
        sockaddr.CopyTo(result.Buffer.Span);
        return result;
    }

    public override EndPoint Create(SocketAddress socketAddress)
    {
        ArgumentNullException.ThrowIfNull(socketAddress);
        return address.Decode(socketAddress.Buffer.Span[..socketAddress.Size]);
    }

    public override string ToString() => address.Description;
}
