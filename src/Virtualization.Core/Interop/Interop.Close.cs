using System.Runtime.InteropServices;

namespace Virtualization.Core;

internal static partial class Interop
{
    internal static partial class Sys
    {
        /// <summary>
        /// <c>close(2)</c> for a raw descriptor that no SafeHandle owns. Descriptors wrapped in a SafeHandle are
        /// closed by that handle; never close those here.
        /// </summary>
        [LibraryImport(Libc, EntryPoint = "close", SetLastError = true)]
        internal static partial int Close(int fd);
    }
}
