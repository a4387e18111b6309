using System.Net.Sockets;

namespace Virtualization.Core.Vsock;

/// <summary>
/// Connects to the unix socket <c>pathFor(cid, port)</c> through the same native code path as
/// <see cref="VsockConnector"/>; errors speak of "port P in VM CID C". For tests of vsock users on machines
/// where connecting over vsock is not possible or not allowed. The connection's local end point is the host's CID
/// with <see cref="VsockEndPoint.AnyPort"/> (a unix socket has no vsock port).
/// </summary>
internal sealed class UnixSocketVsockConnector(Func<int, int, string> pathFor) : IVsockConnector
{
    /// <inheritdoc/>
    public async Task<VsockConnection> ConnectAsync(int cid, int port, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var remote = new VsockEndPoint(cid, port);
        NetworkStream stream = await NativeSockets.ConnectAsync(
            NativeAddress.ForUnix(pathFor(cid, port), standsFor: remote), timeout, cancellationToken).ConfigureAwait(false);
        return new VsockConnection(stream, new VsockEndPoint(VsockEndPoint.Host, VsockEndPoint.AnyPort), remote);
    }
}
