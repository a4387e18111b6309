using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Virtualization.Core;

internal static partial class Interop
{
    internal static partial class Sockets
    {
        /// <summary><c>bind(2)</c> with a serialized <c>sockaddr</c> (its length is the span's length).</summary>
        [LibraryImport(Libc, EntryPoint = "bind", SetLastError = true)]
        internal static partial int Bind(SafeSocketHandle socket, ReadOnlySpan<byte> address, int addressLength);
    }
}
