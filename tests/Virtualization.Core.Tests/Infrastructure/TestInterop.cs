using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>
/// Native functions and constants that only tests use. The library's own bindings are in
/// <see cref="Interop"/> (<c>Interop.Sys</c>, <c>Interop.Sockets</c>, <c>Interop.Epoll</c>); read errno after these
/// calls with <see cref="Interop.LastErrno"/> (the library does not listen, accept or connect natively: .NET's
/// <see cref="Socket"/> engine does that for it).
/// </summary>
internal static partial class TestInterop
{
    /// <summary>IPv4 (<c>AF_INET</c>): loopback TCP for a connect that stays pending.</summary>
    internal const int AF_INET = 2;

    /// <summary><c>SOCK_NONBLOCK</c> (= <c>O_NONBLOCK</c>), or-ed into the type of <c>socket</c>/<c>accept4</c>.</summary>
    internal const int SOCK_NONBLOCK = 0x800;

    /// <summary><c>listen(2)</c>. The kernel caps <paramref name="backlog"/> at <c>net.core.somaxconn</c>.</summary>
    [LibraryImport(Interop.Libc, EntryPoint = "listen", SetLastError = true)]
    internal static partial int Listen(SafeSocketHandle socket, int backlog);

    /// <summary>
    /// <c>accept4(2)</c>: the peer's <c>sockaddr</c> is written to <paramref name="address"/> and its length to
    /// <paramref name="addressLength"/> (in: the buffer size). Returns an invalid handle on failure. Pass
    /// <c>SOCK_CLOEXEC</c> in <paramref name="flags"/>.
    /// </summary>
    [LibraryImport(Interop.Libc, EntryPoint = "accept4", SetLastError = true)]
    internal static partial SafeSocketHandle Accept4(SafeSocketHandle socket, Span<byte> address, ref int addressLength, int flags);

    /// <summary>
    /// <c>connect(2)</c> with a serialized <c>sockaddr</c>. Never call this on an <c>AF_VSOCK</c> socket from a
    /// test: the connection leaves the machine for its hypervisor.
    /// </summary>
    [LibraryImport(Interop.Libc, EntryPoint = "connect", SetLastError = true)]
    internal static partial int Connect(SafeSocketHandle socket, ReadOnlySpan<byte> address, int addressLength);

    /// <summary><c>dup(2)</c>: a second descriptor for the same open file (a new handle owns it).</summary>
    [LibraryImport(Interop.Libc, EntryPoint = "dup", SetLastError = true)]
    internal static partial Microsoft.Win32.SafeHandles.SafeFileHandle Dup(int fd);
}
