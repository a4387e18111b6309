using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Virtualization.Core.Interop;

internal static partial class Interop
{
    /// <summary>
    /// <c>connect(2)</c> with a serialized <c>sockaddr</c>. Never call this on an <c>AF_VSOCK</c> socket from a
    /// test: the connection leaves the machine for its hypervisor.
    /// </summary>
    [LibraryImport(Libc, EntryPoint = "connect", SetLastError = true)]
    internal static partial int Connect(SafeSocketHandle socket, ReadOnlySpan<byte> address, int addressLength);
}
