using System.Runtime.InteropServices;

namespace Virtualization.Core;

internal static partial class Interop
{
    internal static partial class Sys
    {
        /// <summary><c>geteuid(2)</c>: cannot fail.</summary>
        [LibraryImport(Libc, EntryPoint = "geteuid")]
        internal static partial uint GetEUid();
    }
}
