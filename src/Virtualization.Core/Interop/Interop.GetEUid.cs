using System.Runtime.InteropServices;

namespace Virtualization.Core.Interop;

internal static partial class Interop
{
    /// <summary><c>geteuid(2)</c>: cannot fail.</summary>
    [LibraryImport(Libc, EntryPoint = "geteuid")]
    internal static partial uint GetEUid();
}
