using System.Runtime.InteropServices;

namespace Virtualization.Core.Interop;

/// <summary>
/// Native Linux functions used by the library. One function per file (<c>Interop.Name.cs</c>),
/// all declared with <see cref="LibraryImportAttribute"/> and <c>SetLastError = true</c>; errno is
/// turned into exceptions only in <see cref="Interop.ThrowForErrno(int, string, string?)"/>.
/// </summary>
internal static partial class Interop
{
    /// <summary>The C library every function here comes from.</summary>
    internal const string Libc = "libc";
}
