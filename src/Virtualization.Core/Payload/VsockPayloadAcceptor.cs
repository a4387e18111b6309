using System.Globalization;

namespace Virtualization.Core.Payload;

/// <summary>The real acceptor: an AF_VSOCK listener on (any CID, <c>port</c>) through the library's vsock layer.</summary>
internal sealed class VsockPayloadAcceptor : IPayloadAcceptor
{
    private readonly VsockListener _listener;

    private VsockPayloadAcceptor(VsockListener listener, uint port)
    {
        _listener = listener;
        Description = "vsock port " + port.ToString(CultureInfo.InvariantCulture);
    }

    /// <inheritdoc/>
    public string Description { get; }

    /// <summary>Binds and listens on <paramref name="port"/> of every local CID.</summary>
    /// <exception cref="VsockException">No vsock on this host, or the port is taken.</exception>
    public static VsockPayloadAcceptor Start(uint port) =>
        new(VsockListener.Start(new VsockEndPoint(VsockEndPoint.Any, checked((int)port)), backlog: 4), port);

    /// <inheritdoc/>
    public async Task<PayloadConnection> AcceptAsync(CancellationToken cancellationToken)
    {
        VsockConnection connection = await _listener.AcceptAsync(cancellationToken).ConfigureAwait(false);
        return new PayloadConnection(connection.Stream, unchecked((uint)connection.RemoteEndPoint.Cid), connection.RemoteEndPoint.ToString());
    }

    /// <inheritdoc/>
    public void Dispose() => _listener.Dispose();
}
