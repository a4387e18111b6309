namespace Virtualization.Core.Vsock;

/// <summary>
/// How the VM object opens a connection to a port in a guest. <see cref="VsockConnector"/> is the real one;
/// <see cref="UnixSocketVsockConnector"/> maps (CID, port) onto unix sockets so VM tests need no vsock.
/// </summary>
internal interface IVsockConnector
{
    /// <summary>Connects to <paramref name="port"/> in the VM with <paramref name="cid"/>.</summary>
    /// <param name="cid">The guest's context id.</param>
    /// <param name="port">The vsock port the guest listens on.</param>
    /// <param name="timeout">How long to try (<see cref="Timeout.InfiniteTimeSpan"/> for no limit).</param>
    /// <param name="cancellationToken">Cancels the attempt within milliseconds.</param>
    /// <returns>A connection that owns its socket.</returns>
    /// <exception cref="VsockException">Refused/reset ("nothing listening on port P in VM CID C"), timed out (errno 110), no transport.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    Task<VsockConnection> ConnectAsync(int cid, int port, TimeSpan timeout, CancellationToken cancellationToken);
}
