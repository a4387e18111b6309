using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Virtualization.Core.Interop;

internal static partial class Interop
{
    /// <summary>Unix domain sockets (<c>AF_UNIX</c>).</summary>
    internal const int AF_UNIX = 1;

    /// <summary>IPv4 (<c>AF_INET</c>); used by tests for a loopback connect that stays pending.</summary>
    internal const int AF_INET = 2;

    /// <summary>Virtual machine sockets (<c>AF_VSOCK</c>, vsock(7)); .NET's <see cref="AddressFamily"/> has no member for it.</summary>
    internal const int AF_VSOCK = 40;

    /// <summary>Connection-oriented byte stream (<c>SOCK_STREAM</c>).</summary>
    internal const int SOCK_STREAM = 1;

    /// <summary><c>SOCK_NONBLOCK</c> (= <c>O_NONBLOCK</c>), or-ed into the type of <c>socket</c>/<c>accept4</c>.</summary>
    internal const int SOCK_NONBLOCK = 0x800;

    /// <summary><c>SOCK_CLOEXEC</c> (= <c>O_CLOEXEC</c>), or-ed into the type of <c>socket</c>/<c>accept4</c>.</summary>
    internal const int SOCK_CLOEXEC = 0x80000;

    /// <summary>
    /// <c>socket(2)</c>. Returns an invalid handle on failure (read <see cref="LastErrno"/>). Pass
    /// <see cref="SOCK_CLOEXEC"/> in <paramref name="type"/> so VMM child processes never inherit the descriptor.
    /// </summary>
    [LibraryImport(Libc, EntryPoint = "socket", SetLastError = true)]
    internal static partial SafeSocketHandle Socket(int domain, int type, int protocol);
}
