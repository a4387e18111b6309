using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Virtualization.Core;

internal static partial class Interop
{
    internal static partial class Sockets
    {
        /// <summary><c>getpeername(2)</c>: the connected peer's <c>sockaddr</c>.</summary>
        [LibraryImport(Libc, EntryPoint = "getpeername", SetLastError = true)]
        internal static partial int GetPeerName(SafeSocketHandle socket, Span<byte> address, ref int addressLength);
    }
}
