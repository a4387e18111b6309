using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Virtualization.Core.Interop;

internal static partial class Interop
{
    /// <summary><c>listen(2)</c>. The kernel caps <paramref name="backlog"/> at <c>net.core.somaxconn</c>.</summary>
    [LibraryImport(Libc, EntryPoint = "listen", SetLastError = true)]
    internal static partial int Listen(SafeSocketHandle socket, int backlog);
}
