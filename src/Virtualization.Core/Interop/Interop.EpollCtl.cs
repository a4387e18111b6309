using System.Runtime.InteropServices;

namespace Virtualization.Core;

internal static partial class Interop
{
    internal static partial class Epoll
    {
        /// <summary><c>epoll_ctl(2)</c>; <paramref name="ev"/> points to an <c>epoll_event</c> laid out as <see cref="EpollEventSize"/> says.</summary>
        [LibraryImport(Libc, EntryPoint = "epoll_ctl", SetLastError = true)]
        internal static unsafe partial int EpollCtl(int epfd, int op, int fd, byte* ev);
    }
}
