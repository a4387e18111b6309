using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Virtualization.Core.Interop;

internal static partial class Interop
{
    internal const int O_RDONLY = 0;
    internal const int O_RDWR = 2;
    internal const int O_CREAT = 0x40;

    /// <summary><c>O_NOCTTY</c>: a terminal opened by the library never becomes its controlling terminal.</summary>
    internal const int O_NOCTTY = 0x100;

    /// <summary><c>O_NONBLOCK</c>: open returns at once even for a FIFO without a writer (the same value on x86_64 and aarch64).</summary>
    internal const int O_NONBLOCK = 0x800;

    internal const int O_CLOEXEC = 0x80000;

    /// <summary><c>O_DIRECTORY</c>: fail with <c>ENOTDIR</c> unless the path is a directory. Its value depends on the architecture.</summary>
    internal static readonly int O_DIRECTORY = HasArmOpenFlags ? 0x4000 : 0x10000;

    /// <summary><c>O_NOFOLLOW</c>: fail with <c>ELOOP</c> if the last path component is a symbolic link. Its value depends on the architecture.</summary>
    internal static readonly int O_NOFOLLOW = HasArmOpenFlags ? 0x8000 : 0x20000;

    /// <summary>Whether this architecture uses the ARM/PowerPC numbering of <c>O_DIRECTORY</c> and <c>O_NOFOLLOW</c>.</summary>
    private static bool HasArmOpenFlags => RuntimeInformation.ProcessArchitecture
        is Architecture.Arm or Architecture.Arm64 or Architecture.Armv6 or Architecture.Ppc64le;

    /// <summary><c>open(2)</c>. Returns an invalid handle on failure (read <see cref="LastErrno"/>).</summary>
    [LibraryImport(Libc, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial SafeFileHandle Open(string path, int flags);

    /// <summary>
    /// <c>open(2)</c> with the permission bits for a file that <see cref="O_CREAT"/> creates (reduced by the umask).
    /// Returns an invalid handle on failure (read <see cref="LastErrno"/>).
    /// </summary>
    [LibraryImport(Libc, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial SafeFileHandle Open(string path, int flags, uint mode);
}
