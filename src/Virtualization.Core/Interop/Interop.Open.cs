using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Virtualization.Core.Interop;

internal static partial class Interop
{
    internal const int O_RDONLY = 0;
    internal const int O_CLOEXEC = 0x80000;

    /// <summary><c>open(2)</c>. Returns an invalid handle on failure (read <see cref="LastErrno"/>).</summary>
    [LibraryImport(Libc, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial SafeFileHandle Open(string path, int flags);
}
