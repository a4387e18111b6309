using System.Net.Sockets;

namespace Virtualization.Core;

/// <summary>
/// A vsock connection: its stream and both ends' addresses. <see cref="VsockListener.AcceptAsync"/> hands these out for
/// connections from guests, <see cref="IVirtualMachine.ConnectVsockAsync"/> for connections to a guest.
/// </summary>
/// <remarks>
/// <see cref="Stream"/> owns <see cref="Socket"/>: disposing either this object or the stream closes the
/// connection. Reads and writes are asynchronous on .NET's socket engine.
/// </remarks>
public sealed class VsockConnection : IDisposable, IAsyncDisposable
{
    internal VsockConnection(NetworkStream stream, VsockEndPoint localEndPoint, VsockEndPoint remoteEndPoint)
    {
        Socket = stream.Socket;
        Stream = stream;
        LocalEndPoint = localEndPoint;
        RemoteEndPoint = remoteEndPoint;
    }

    /// <summary>The connected socket. <see cref="Socket.AddressFamily"/> reports <see cref="AddressFamily.Unknown"/> for vsock.</summary>
    public Socket Socket { get; }

    /// <summary>A stream over <see cref="Socket"/> that owns it.</summary>
    public NetworkStream Stream { get; }

    /// <summary>This end's address: the listener's CID and port for an accepted connection; for one opened by <see cref="IVirtualMachine.ConnectVsockAsync"/>, what the kernel reports for this socket (<c>getsockname</c>): the local CID and an ephemeral port.</summary>
    public VsockEndPoint LocalEndPoint { get; }

    /// <summary>The peer's address: the connecting VM's CID and its (usually ephemeral) port, or the guest's CID and port that was connected to.</summary>
    public VsockEndPoint RemoteEndPoint { get; }

    /// <summary>Closes the connection.</summary>
    public void Dispose() => Stream.Dispose();

    /// <summary>Closes the connection.</summary>
    /// <returns>A task that completes when the connection is closed.</returns>
    public ValueTask DisposeAsync() => Stream.DisposeAsync();

    /// <summary>Formats as <c>local &lt;-&gt; remote</c>.</summary>
    /// <returns>For example <c>vsock:2:5000 &lt;-&gt; vsock:3:1034</c>.</returns>
    public override string ToString() => $"{LocalEndPoint} <-> {RemoteEndPoint}";
}
