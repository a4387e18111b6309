using System.Runtime.InteropServices;

namespace Virtualization.Core;

internal static partial class Interop
{
    internal static partial class Epoll
    {
        internal const int EPOLL_CLOEXEC = 0x80000;
        internal const int EPOLL_CTL_ADD = 1;
        internal const int EPOLL_CTL_DEL = 2;
        internal const uint EPOLLIN = 0x001;
        internal const uint EPOLLONESHOT = 1u << 30;

        /// <summary>
        /// The size of <c>struct epoll_event</c>: packed (12 bytes, data at offset 4) on x86_64, naturally aligned
        /// (16 bytes, data at offset 8) elsewhere.
        /// </summary>
        internal static readonly int EpollEventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;

        /// <summary>Offset of the 64-bit <c>data</c> field in <c>struct epoll_event</c>.</summary>
        internal static readonly int EpollEventDataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

        /// <summary><c>epoll_create1(2)</c>. Returns -1 on failure.</summary>
        [LibraryImport(Libc, EntryPoint = "epoll_create1", SetLastError = true)]
        internal static partial int EpollCreate1(int flags);
    }
}
