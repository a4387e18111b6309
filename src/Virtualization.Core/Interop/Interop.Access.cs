using System.Runtime.InteropServices;

namespace Virtualization.Core;

internal static partial class Interop
{
    internal static partial class Sys
    {
        /// <summary><c>X_OK</c> for <see cref="Access"/>.</summary>
        internal const int X_OK = 1;

        /// <summary><c>W_OK</c> for <see cref="Access"/>.</summary>
        internal const int W_OK = 2;

        /// <summary><c>access(2)</c>: 0 when the real uid may use <paramref name="path"/> as <paramref name="mode"/> says.</summary>
        [LibraryImport(Libc, EntryPoint = "access", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int Access(string path, int mode);
    }
}
