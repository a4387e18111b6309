using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Virtualization.Core.Interop;

internal static partial class Interop
{
    /// <summary><c>fchmod(2)</c>: sets the permission bits of the open file (or directory) <paramref name="fd"/>.</summary>
    [LibraryImport(Libc, EntryPoint = "fchmod", SetLastError = true)]
    internal static partial int FChMod(SafeFileHandle fd, uint mode);
}
