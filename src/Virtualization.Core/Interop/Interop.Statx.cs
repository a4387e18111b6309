using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Virtualization.Core.Interop;

internal static partial class Interop
{
    /// <summary><c>AT_FDCWD</c>: a relative path is resolved against the current directory.</summary>
    internal const int AT_FDCWD = -100;

    /// <summary><c>AT_SYMLINK_NOFOLLOW</c>: describe a symbolic link at the path itself, not what it points to.</summary>
    internal const int AT_SYMLINK_NOFOLLOW = 0x100;

    /// <summary><c>AT_EMPTY_PATH</c>: with an empty path, <c>statx</c> describes the descriptor itself (an fstat).</summary>
    internal const int AT_EMPTY_PATH = 0x1000;

    /// <summary><c>STATX_TYPE</c>: ask for the file type bits of <c>stx_mode</c>.</summary>
    internal const uint STATX_TYPE = 0x1;

    /// <summary><c>STATX_MODE</c>: ask for the permission bits of <c>stx_mode</c>.</summary>
    internal const uint STATX_MODE = 0x2;

    /// <summary><c>STATX_UID</c>: ask for <c>stx_uid</c>.</summary>
    internal const uint STATX_UID = 0x8;

    /// <summary><c>STATX_SIZE</c>: ask for <c>stx_size</c>.</summary>
    internal const uint STATX_SIZE = 0x200;

    /// <summary>The file-type mask of a mode and its values (<c>S_IFMT</c>, <c>S_IFREG</c>, ...; the same on every Linux architecture).</summary>
    internal const int S_IFMT = 0xF000;
    internal const int S_IFSOCK = 0xC000;
    internal const int S_IFLNK = 0xA000;
    internal const int S_IFREG = 0x8000;
    internal const int S_IFBLK = 0x6000;
    internal const int S_IFDIR = 0x4000;
    internal const int S_IFCHR = 0x2000;
    internal const int S_IFIFO = 0x1000;

    /// <summary>
    /// The leading fields of <c>struct statx</c> that the library reads. Unlike <c>struct stat</c>, whose layout differs
    /// between x86_64 and aarch64, <c>struct statx</c> has one fixed layout (256 bytes) on every architecture; the
    /// offsets are checked against the C header by a test.
    /// </summary>
    [StructLayout(LayoutKind.Explicit, Size = Size)]
    internal struct StatxBuffer
    {
        /// <summary><c>sizeof(struct statx)</c>.</summary>
        internal const int Size = 256;

        /// <summary><c>stx_mask</c>: which fields the kernel filled in.</summary>
        [FieldOffset(0)]
        internal uint Mask;

        /// <summary><c>stx_uid</c>: the owner.</summary>
        [FieldOffset(20)]
        internal uint Uid;

        /// <summary><c>stx_mode</c>: file type and permission bits.</summary>
        [FieldOffset(28)]
        internal ushort Mode;

        /// <summary><c>stx_size</c>: the size in bytes (0 for block devices: use <see cref="BLKGETSIZE64"/>).</summary>
        [FieldOffset(40)]
        internal ulong FileSize;

        /// <summary><c>stx_rdev_major</c>: for a device file, the device's major number.</summary>
        [FieldOffset(128)]
        internal uint RdevMajor;

        /// <summary><c>stx_rdev_minor</c>: for a device file, the device's minor number.</summary>
        [FieldOffset(132)]
        internal uint RdevMinor;

        /// <summary>The file type bits of <see cref="Mode"/> (one of the <c>S_IF*</c> values).</summary>
        internal readonly int FileType => Mode & S_IFMT;

        /// <summary>The permission bits of <see cref="Mode"/>, setuid/setgid/sticky included.</summary>
        internal readonly uint Permissions => (uint)(Mode & 0xFFF);
    }

    /// <summary>
    /// <c>statx(2)</c> on a path, following symbolic links (pass <see cref="AT_FDCWD"/> as <paramref name="directoryFd"/>).
    /// Never opens the file, so it cannot block on a FIFO or set off a device's open handler.
    /// </summary>
    [LibraryImport(Libc, EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Statx(int directoryFd, string path, int flags, uint mask, out StatxBuffer buffer);

    /// <summary><c>statx(2)</c> on an open descriptor: pass an empty path and <see cref="AT_EMPTY_PATH"/> (an <c>fstat</c>).</summary>
    [LibraryImport(Libc, EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Statx(SafeFileHandle fd, string path, int flags, uint mask, out StatxBuffer buffer);
}
