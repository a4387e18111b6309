using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Virtualization.Core;

internal static partial class Interop
{
    internal static partial class Sockets
    {
        /// <summary>Unix domain sockets (<c>AF_UNIX</c>).</summary>
        internal const int AF_UNIX = 1;

        /// <summary>Virtual machine sockets (<c>AF_VSOCK</c>, vsock(7)); .NET's <see cref="AddressFamily"/> has no member for it.</summary>
        internal const int AF_VSOCK = 40;

        /// <summary>Connection-oriented byte stream (<c>SOCK_STREAM</c>).</summary>
        internal const int SOCK_STREAM = 1;

        /// <summary><c>SOCK_CLOEXEC</c> (= <c>O_CLOEXEC</c>), or-ed into the type of <c>socket</c>.</summary>
        internal const int SOCK_CLOEXEC = 0x80000;

        /// <summary>
        /// <c>socket(2)</c>. Returns an invalid handle on failure (read <see cref="LastErrno"/>). Pass
        /// <see cref="SOCK_CLOEXEC"/> in <paramref name="type"/> so VMM child processes never inherit the descriptor.
        /// </summary>
        [LibraryImport(Libc, EntryPoint = "socket", SetLastError = true)]
        internal static partial SafeSocketHandle Socket(int domain, int type, int protocol);
    }
}
