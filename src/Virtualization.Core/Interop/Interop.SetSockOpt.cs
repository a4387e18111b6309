using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Virtualization.Core;

internal static partial class Interop
{
    internal static partial class Sockets
    {
        /// <summary>
        /// <c>SO_VM_SOCKETS_CONNECT_TIMEOUT</c> (the <c>_OLD</c> value, a native-width <see cref="Timeval"/>, which is
        /// what the header selects on 64-bit Linux), set at level <see cref="AF_VSOCK"/>. The kernel default is 2 s.
        /// </summary>
        internal const int SO_VM_SOCKETS_CONNECT_TIMEOUT = 6;

        /// <summary><c>struct timeval</c> with native-width fields (<c>time_t</c>, <c>suseconds_t</c>).</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct Timeval
        {
            internal nint Seconds;
            internal nint Microseconds;
        }

        /// <summary><c>setsockopt(2)</c> with a raw option value.</summary>
        [LibraryImport(Libc, EntryPoint = "setsockopt", SetLastError = true)]
        internal static partial int SetSockOpt(SafeSocketHandle socket, int level, int optionName, ReadOnlySpan<byte> optionValue, int optionLength);
    }
}
