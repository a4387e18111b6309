using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Virtualization.Core.Interop;

internal static partial class Interop
{
    internal const int O_RDONLY = 0;
    internal const int O_RDWR = 2;

    /// <summary><c>O_NOCTTY</c>: a terminal opened by the library never becomes its controlling terminal.</summary>
    internal const int O_NOCTTY = 0x100;

    /// <summary><c>O_NONBLOCK</c>: open returns at once even for a FIFO without a writer (the same value on x86_64 and aarch64).</summary>
    internal const int O_NONBLOCK = 0x800;

    internal const int O_CLOEXEC = 0x80000;

    /// <summary><c>open(2)</c>. Returns an invalid handle on failure (read <see cref="LastErrno"/>).</summary>
    [LibraryImport(Libc, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial SafeFileHandle Open(string path, int flags);
}
