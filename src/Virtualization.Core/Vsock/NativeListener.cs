using System.Net.Sockets;

namespace Virtualization.Core.Vsock;

/// <summary>
/// A listening socket of any family, bound and listened through <see cref="Socket"/> (its accept engine insists
/// on having done both itself) on a descriptor from <see cref="NativeSockets.Create"/>. <see cref="VsockListener"/>
/// is this plus vsock addresses; tests use it over <c>AF_UNIX</c>.
/// </summary>
internal sealed class NativeListener : IDisposable, IAsyncDisposable
{
    private readonly Socket _socket;
    private volatile bool _disposed;

    private NativeListener(Socket socket, NativeAddress address, byte[] localSockAddr)
    {
        _socket = socket;
        Address = address;
        LocalSockAddr = localSockAddr;
    }

    /// <summary>The address asked for (its port may be "any").</summary>
    public NativeAddress Address { get; }

    /// <summary>The address actually bound (<c>getsockname</c> after binding): carries the chosen port.</summary>
    public byte[] LocalSockAddr { get; }

    /// <summary>The listening socket (for tests and diagnostics; do not dispose it directly).</summary>
    internal Socket Socket => _socket;

    /// <summary>Binds <paramref name="address"/> and listens with <paramref name="backlog"/>.</summary>
    /// <exception cref="VsockException">No transport, port in use, CID not local, privileged port.</exception>
    public static NativeListener Start(NativeAddress address, int backlog)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(backlog);
        Socket socket = NativeSockets.Create(address);
        try
        {
            try
            {
                socket.Bind(NativeSockets.EndPointFor(socket, address));
            }
            catch (SocketException ex)
            {
                throw VsockErrors.FromSocketException(ex, "bind", address);
            }

            try
            {
                socket.Listen(backlog);
            }
            catch (SocketException ex)
            {
                throw VsockErrors.FromSocketException(ex, "listen", address);
            }

            return new NativeListener(socket, address, NativeSockets.GetSockName(socket, address));
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Waits for the next connection without holding a thread. The returned socket has <c>SOCK_CLOEXEC</c>
    /// (.NET accepts with <c>accept4(…, SOCK_CLOEXEC)</c>).
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The listener was disposed, also while waiting.</exception>
    /// <exception cref="VsockException">The accept failed.</exception>
    public async Task<Socket> AcceptAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        try
        {
            return await _socket.AcceptAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException) when (_disposed)
        {
            // CASE: Dispose closed the socket while the accept was pending; the engine reports OperationAborted.
            throw new ObjectDisposedException(GetType().Name, $"The listener on {Address.Description} was disposed while accepting.");
        }
        catch (SocketException ex)
        {
            throw VsockErrors.FromSocketException(ex, "accept", Address);
        }
    }

    /// <summary>Closes the listening socket; pending accepts end with <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        _disposed = true;
        _socket.Dispose();
    }

    /// <inheritdoc cref="Dispose"/>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}
