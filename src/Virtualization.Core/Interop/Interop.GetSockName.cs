using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Virtualization.Core;

internal static partial class Interop
{
    internal static partial class Sockets
    {
        /// <summary><c>getsockname(2)</c>: the local <c>sockaddr</c> (for a socket bound to port ANY, the port the kernel chose).</summary>
        [LibraryImport(Libc, EntryPoint = "getsockname", SetLastError = true)]
        internal static partial int GetSockName(SafeSocketHandle socket, Span<byte> address, ref int addressLength);
    }
}
