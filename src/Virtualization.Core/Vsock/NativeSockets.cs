using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Virtualization.Core.Vsock;

/// <summary>
/// The family-independent socket layer: <c>socket()</c> through P/Invoke (so families .NET refuses, like
/// <c>AF_VSOCK</c>, work), wrapped in <see cref="Socket"/> so that connect, accept and all I/O run on .NET's
/// epoll engine (no thread per connection, no blocking waits). Everything vsock-specific is in the
/// <see cref="NativeAddress"/>; tests drive the same code over <c>AF_UNIX</c>.
/// </summary>
internal static class NativeSockets
{
    /// <summary>Largest <c>sockaddr</c> the kernel returns (<c>sizeof(struct sockaddr_storage)</c>).</summary>
    internal const int MaxSockAddrSize = 128;

    /// <summary>The longest timeout accepted (what a <see cref="CancellationTokenSource"/> timer can hold).</summary>
    internal static readonly TimeSpan MaxTimeout = TimeSpan.FromMilliseconds(int.MaxValue);

    /// <summary>
    /// Creates a stream socket of <paramref name="address"/>'s family with <c>SOCK_CLOEXEC</c>, owned by the
    /// returned <see cref="Socket"/>.
    /// </summary>
    /// <remarks>
    /// No <c>SOCK_NONBLOCK</c>: <see cref="Socket"/> does not read the descriptor's flags (it reports
    /// <see cref="Socket.Blocking"/> = true regardless) and keeps its own record of them; its engine sets
    /// <c>O_NONBLOCK</c> itself before the first asynchronous operation. Setting it here would make a synchronous
    /// call issued before that point fail with <c>EAGAIN</c> instead of waiting.
    /// </remarks>
    public static Socket Create(NativeAddress address)
    {
        SafeSocketHandle handle = Interop.Sockets.Socket(address.Family, Interop.Sockets.SOCK_STREAM | Interop.Sockets.SOCK_CLOEXEC, 0);
        if (handle.IsInvalid)
        {
            Interop.Errno errno = Interop.LastErrno;
            handle.Dispose();
            throw VsockErrors.Create(errno, "socket", address);
        }

        try
        {
            return new Socket(handle);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>The end point to give <see cref="Socket.Bind"/> and <see cref="Socket.ConnectAsync(System.Net.EndPoint, CancellationToken)"/>.</summary>
    public static NativeEndPoint EndPointFor(Socket socket, NativeAddress address) => new(socket.AddressFamily, address);

    /// <summary>
    /// Connects to <paramref name="address"/> within <paramref name="timeout"/>. The returned stream owns the socket.
    /// </summary>
    /// <exception cref="VsockException">Refused, reset, unreachable, timed out (errno <c>ETIMEDOUT</c>), or no transport.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (acts within milliseconds).</exception>
    public static async Task<NetworkStream> ConnectAsync(NativeAddress address, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ValidateTimeout(timeout);
        cancellationToken.ThrowIfCancellationRequested();

        Socket socket = Create(address);
        try
        {
            if (address.IsVsockFamily)
            {
                // The kernel's own connect timeout defaults to 2 s and would cut a longer one short.
                SetVsockConnectTimeout(socket, timeout, address);
            }

            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            if (timeout != Timeout.InfiniteTimeSpan)
            {
                linked.CancelAfter(timeout);
            }

            try
            {
                await socket.ConnectAsync(EndPointFor(socket, address), linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException ex) when (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException($"Connecting to {address.Description} was cancelled.", ex, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                throw VsockErrors.Create(Interop.Errno.ETIMEDOUT, "connect", address, timeout);
            }
            catch (SocketException ex)
            {
                throw VsockErrors.FromSocketException(ex, "connect", address, timeout);
            }

            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sets <c>SO_VM_SOCKETS_CONNECT_TIMEOUT</c>; an infinite timeout becomes one year.</summary>
    public static void SetVsockConnectTimeout(Socket socket, TimeSpan timeout, NativeAddress address)
    {
        TimeSpan value = timeout == Timeout.InfiniteTimeSpan ? TimeSpan.FromDays(365) : timeout;
        long ticks = value.Ticks;
        var tv = new Interop.Sockets.Timeval
        {
            Seconds = checked((nint)(ticks / TimeSpan.TicksPerSecond)),
            Microseconds = (nint)(ticks % TimeSpan.TicksPerSecond / TimeSpan.TicksPerMicrosecond),
        };
        ReadOnlySpan<byte> bytes = MemoryMarshal.AsBytes(new ReadOnlySpan<Interop.Sockets.Timeval>(in tv));
        if (Interop.Sockets.SetSockOpt(socket.SafeHandle, Interop.Sockets.AF_VSOCK, Interop.Sockets.SO_VM_SOCKETS_CONNECT_TIMEOUT, bytes, bytes.Length) != 0)
        {
            throw VsockErrors.Create(Interop.LastErrno, "setsockopt(SO_VM_SOCKETS_CONNECT_TIMEOUT)", address, timeout);
        }
    }

    /// <summary><c>getsockname()</c> of <paramref name="socket"/>: the raw local <c>sockaddr</c>.</summary>
    public static byte[] GetSockName(Socket socket, NativeAddress address)
    {
        Span<byte> buffer = stackalloc byte[MaxSockAddrSize];
        int length = buffer.Length;
        if (Interop.Sockets.GetSockName(socket.SafeHandle, buffer, ref length) != 0)
        {
            throw VsockErrors.Create(Interop.LastErrno, "getsockname", address);
        }

        return buffer[..Math.Min(length, buffer.Length)].ToArray();
    }

    /// <summary><c>getpeername()</c> of <paramref name="socket"/>: the raw peer <c>sockaddr</c>.</summary>
    public static byte[] GetPeerName(Socket socket, NativeAddress address)
    {
        Span<byte> buffer = stackalloc byte[MaxSockAddrSize];
        int length = buffer.Length;
        if (Interop.Sockets.GetPeerName(socket.SafeHandle, buffer, ref length) != 0)
        {
            throw VsockErrors.Create(Interop.LastErrno, "getpeername", address);
        }

        return buffer[..Math.Min(length, buffer.Length)].ToArray();
    }

    /// <summary>Rejects timeouts that are neither positive (up to <see cref="MaxTimeout"/>) nor infinite.</summary>
    public static void ValidateTimeout(TimeSpan timeout)
    {
        if (timeout != Timeout.InfiniteTimeSpan && (timeout <= TimeSpan.Zero || timeout > MaxTimeout))
        {
            throw new ArgumentOutOfRangeException(
                nameof(timeout), timeout, $"The timeout must be positive and at most {MaxTimeout}, or Timeout.InfiniteTimeSpan.");
        }
    }
}
