using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Virtualization.Core;

internal static partial class Interop
{
    internal static partial class Sys
    {
        internal const int LOCK_SH = 1;
        internal const int LOCK_EX = 2;
        internal const int LOCK_NB = 4;
        internal const int LOCK_UN = 8;

        /// <summary><c>flock(2)</c>: advisory whole-file lock, released by the kernel when the holder dies.</summary>
        [LibraryImport(Libc, EntryPoint = "flock", SetLastError = true)]
        internal static partial int Flock(SafeFileHandle fd, int operation);
    }
}
