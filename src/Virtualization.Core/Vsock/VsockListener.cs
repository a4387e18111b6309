using System.Net.Sockets;
using Virtualization.Core.Vsock;

namespace Virtualization.Core;

/// <summary>
/// Listens for vsock connections (for example from a guest to the host), without a thread per connection.
/// </summary>
/// <example>
/// <code>
/// await using var listener = VsockListener.Start(VsockEndPoint.AnyPort);
/// int port = listener.LocalEndPoint.Port; // tell the guest
/// await using VsockConnection connection = await listener.AcceptAsync(ct);
/// Console.WriteLine($"VM CID {connection.RemoteEndPoint.Cid} connected");
/// </code>
/// </example>
public sealed class VsockListener : IDisposable, IAsyncDisposable
{
    /// <summary>The backlog <see cref="Start(int)"/> uses (the kernel caps it at <c>net.core.somaxconn</c>).</summary>
    public const int DefaultBacklog = 512;

    private static readonly Func<byte[], VsockEndPoint> ReadVsock = static sockaddr => VsockEndPoint.Read(sockaddr);

    private readonly NativeListener _listener;
    private readonly Func<byte[], VsockEndPoint> _readEndPoint;

    private VsockListener(NativeListener listener, Func<byte[], VsockEndPoint> readEndPoint)
    {
        _listener = listener;
        _readEndPoint = readEndPoint;
        LocalEndPoint = readEndPoint(listener.LocalSockAddr);
    }

    /// <summary>The bound address as the kernel reports it (<c>getsockname</c>): the real port when binding <see cref="VsockEndPoint.AnyPort"/>.</summary>
    public VsockEndPoint LocalEndPoint { get; }

    /// <summary>Binds <paramref name="port"/> on every local CID (<see cref="VsockEndPoint.Any"/>) and listens.</summary>
    /// <param name="port">The port, or <see cref="VsockEndPoint.AnyPort"/> for one the kernel picks (see <see cref="LocalEndPoint"/>).</param>
    /// <returns>A listening <see cref="VsockListener"/>.</returns>
    /// <exception cref="VsockException">No vsock transport, the port is in use, or it is privileged (below 1024).</exception>
    public static VsockListener Start(int port) => Start(new VsockEndPoint(VsockEndPoint.Any, port));

    /// <summary>Binds <paramref name="localEndPoint"/> and listens.</summary>
    /// <param name="localEndPoint">A local CID (usually <see cref="VsockEndPoint.Any"/>) and a port (or <see cref="VsockEndPoint.AnyPort"/>).</param>
    /// <param name="backlog">How many connections may wait for <see cref="AcceptAsync"/>.</param>
    /// <returns>A listening <see cref="VsockListener"/>.</returns>
    /// <exception cref="VsockException">No vsock transport, the port is in use, the CID is not local, or the port is privileged.</exception>
    public static VsockListener Start(VsockEndPoint localEndPoint, int backlog = DefaultBacklog)
    {
        ArgumentNullException.ThrowIfNull(localEndPoint);
        return StartOver(NativeAddress.ForVsock(localEndPoint), backlog, ReadVsock);
    }

    /// <summary>
    /// Binds <paramref name="address"/> of any family and listens; <paramref name="readEndPoint"/> turns the
    /// <c>sockaddr</c>s the kernel returns (the bound address, and <c>getsockname</c>/<c>getpeername</c> of each
    /// accepted socket) into end points. <see cref="Start(VsockEndPoint, int)"/> is this with
    /// <c>AF_VSOCK</c> and <see cref="VsockEndPoint.Read"/>; tests drive the accept path over <c>AF_UNIX</c>.
    /// </summary>
    /// <exception cref="VsockException">The bind or listen failed.</exception>
    internal static VsockListener StartOver(NativeAddress address, int backlog, Func<byte[], VsockEndPoint> readEndPoint)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(readEndPoint);
        NativeListener listener = NativeListener.Start(address, backlog);
        try
        {
            return new VsockListener(listener, readEndPoint);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    /// <summary>Waits for the next connection without holding a thread.</summary>
    /// <param name="cancellationToken">Cancels the wait (effective within milliseconds); the listener stays open.</param>
    /// <returns>The accepted connection with the peer's CID and port.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The listener was disposed, also while waiting.</exception>
    /// <exception cref="VsockException">The accept failed.</exception>
    public async Task<VsockConnection> AcceptAsync(CancellationToken cancellationToken = default)
    {
        Socket socket = await _listener.AcceptAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            VsockEndPoint local = _readEndPoint(NativeSockets.GetSockName(socket, _listener.Address));
            VsockEndPoint remote = _readEndPoint(NativeSockets.GetPeerName(socket, _listener.Address));
            return new VsockConnection(new NetworkStream(socket, ownsSocket: true), local, remote);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Stops listening; pending <see cref="AcceptAsync"/> calls end with <see cref="ObjectDisposedException"/>. Accepted connections stay open.</summary>
    public void Dispose() => _listener.Dispose();

    /// <summary>Stops listening, as <see cref="Dispose"/>.</summary>
    /// <returns>A completed task.</returns>
    public ValueTask DisposeAsync() => _listener.DisposeAsync();

    /// <summary>Formats as <c>VsockListener vsock:CID:PORT</c>.</summary>
    /// <returns>The listener's description.</returns>
    public override string ToString() => $"VsockListener {LocalEndPoint}";
}
