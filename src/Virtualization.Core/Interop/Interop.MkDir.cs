using System.Runtime.InteropServices;

namespace Virtualization.Core.Interop;

internal static partial class Interop
{
    /// <summary>
    /// <c>mkdir(2)</c>: creates one directory with <paramref name="mode"/> (reduced by the umask). Fails with
    /// <c>EEXIST</c> if anything, a symbolic link included, is already there; never follows a link at the path.
    /// </summary>
    [LibraryImport(Libc, EntryPoint = "mkdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int MkDir(string path, uint mode);
}
