using System.Net.Sockets;

namespace Virtualization.Core;

/// <summary>A connection accepted by <see cref="VsockListener"/>: its stream and both ends' vsock addresses.</summary>
/// <remarks>
/// <see cref="Stream"/> owns <see cref="Socket"/>: disposing either this object or the stream closes the
/// connection. Reads and writes are asynchronous on .NET's socket engine.
/// </remarks>
public sealed class VsockConnection : IDisposable, IAsyncDisposable
{
    internal VsockConnection(Socket socket, VsockEndPoint localEndPoint, VsockEndPoint remoteEndPoint)
    {
        Socket = socket;
        Stream = new NetworkStream(socket, ownsSocket: true);
        LocalEndPoint = localEndPoint;
        RemoteEndPoint = remoteEndPoint;
    }

    /// <summary>The connected socket. <see cref="Socket.AddressFamily"/> reports <see cref="AddressFamily.Unknown"/> for vsock.</summary>
    public Socket Socket { get; }

    /// <summary>A stream over <see cref="Socket"/> that owns it.</summary>
    public NetworkStream Stream { get; }

    /// <summary>This end's address (the listener's CID and port).</summary>
    public VsockEndPoint LocalEndPoint { get; }

    /// <summary>The peer's address: the connecting VM's CID and its (usually ephemeral) port.</summary>
    public VsockEndPoint RemoteEndPoint { get; }

    /// <summary>Closes the connection.</summary>
    public void Dispose() => Stream.Dispose();

    /// <summary>Closes the connection.</summary>
    /// <returns>A task that completes when the connection is closed.</returns>
    public ValueTask DisposeAsync() => Stream.DisposeAsync();

    /// <summary>Formats as <c>local &lt;- remote</c>.</summary>
    /// <returns>For example <c>vsock:any:5000 &lt;- vsock:3:1034</c>.</returns>
    public override string ToString() => $"{LocalEndPoint} <- {RemoteEndPoint}";
}
