using System.Runtime.InteropServices;

namespace Virtualization.Core;

internal static partial class Interop
{
    internal static partial class Epoll
    {
        /// <summary><c>epoll_wait(2)</c>: blocks until an event or <paramref name="timeout"/> ms (-1: forever).</summary>
        [LibraryImport(Libc, EntryPoint = "epoll_wait", SetLastError = true)]
        internal static unsafe partial int EpollWait(int epfd, byte* events, int maxEvents, int timeout);
    }
}
