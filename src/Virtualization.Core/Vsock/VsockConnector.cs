using System.Net.Sockets;

namespace Virtualization.Core.Vsock;

/// <summary>Connects over real <c>AF_VSOCK</c>, with <c>SO_VM_SOCKETS_CONNECT_TIMEOUT</c> set to the timeout.</summary>
internal sealed class VsockConnector : IVsockConnector
{
    /// <summary>The shared instance (the connector has no state).</summary>
    public static VsockConnector Instance { get; } = new();

    /// <inheritdoc/>
    public async Task<VsockConnection> ConnectAsync(int cid, int port, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var remote = new VsockEndPoint(cid, port);
        NativeAddress address = NativeAddress.ForVsock(remote);
        NetworkStream stream = await NativeSockets.ConnectAsync(address, timeout, cancellationToken).ConfigureAwait(false);
        try
        {
            return new VsockConnection(stream, VsockEndPoint.Read(NativeSockets.GetSockName(stream.Socket, address)), remote);
        }
        catch
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
