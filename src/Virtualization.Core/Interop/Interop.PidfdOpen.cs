using System.Runtime.InteropServices;

namespace Virtualization.Core;

internal static partial class Interop
{
    internal static partial class Sys
    {
        /// <summary>The syscall number of <c>pidfd_open</c> (the same on x86_64 and aarch64; Linux 5.3+).</summary>
        internal const long SYS_pidfd_open = 434;

        /// <summary>
        /// <c>pidfd_open(2)</c> through <c>syscall(2)</c> (glibc has a wrapper only since 2.36). The descriptor is
        /// close-on-exec. Returns -1 on failure (read <see cref="LastErrno"/>: ESRCH when the process is gone, ENOSYS
        /// before Linux 5.3).
        /// </summary>
        internal static int PidfdOpen(int pid) => (int)Syscall(SYS_pidfd_open, pid, 0, 0, 0);

        /// <summary><c>syscall(2)</c> with up to four integer arguments (all integer arguments: safe to call variadically).</summary>
        [LibraryImport(Libc, EntryPoint = "syscall", SetLastError = true)]
        internal static partial long Syscall(long number, long a, long b, long c, long d);
    }
}
