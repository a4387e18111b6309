using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Virtualization.Core.Interop;

internal static partial class Interop
{
    /// <summary>
    /// <c>accept4(2)</c>: the peer's <c>sockaddr</c> is written to <paramref name="address"/> and its length to
    /// <paramref name="addressLength"/> (in: the buffer size). Returns an invalid handle on failure. Pass
    /// <see cref="SOCK_CLOEXEC"/> in <paramref name="flags"/>.
    /// </summary>
    [LibraryImport(Libc, EntryPoint = "accept4", SetLastError = true)]
    internal static partial SafeSocketHandle Accept4(SafeSocketHandle socket, Span<byte> address, ref int addressLength, int flags);
}
