namespace Virtualization.Core.Vsock;

/// <summary>
/// Connects to the unix socket <c>pathFor(cid, port)</c> through the same native code path as
/// <see cref="VsockConnector"/>; errors speak of "port P in VM CID C". For tests of vsock users on machines
/// where connecting over vsock is not possible or not allowed.
/// </summary>
internal sealed class UnixSocketVsockConnector(Func<uint, uint, string> pathFor) : IVsockConnector
{
    /// <inheritdoc/>
    public async Task<Stream> ConnectAsync(uint cid, uint port, TimeSpan timeout, CancellationToken cancellationToken) =>
        await NativeSockets.ConnectAsync(
            NativeAddress.ForUnix(pathFor(cid, port), standsFor: new VsockEndPoint(cid, port)), timeout, cancellationToken).ConfigureAwait(false);
}
