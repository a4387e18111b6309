using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Virtualization.Core.Interop;

internal static partial class Interop
{
    /// <summary>The <c>dirfd</c> that makes a relative path relative to the working directory.</summary>
    internal const int AT_FDCWD = -100;

    /// <summary>Describe a symbolic link at the path itself, not what it points to.</summary>
    internal const int AT_SYMLINK_NOFOLLOW = 0x100;

    /// <summary>With an empty path: describe the open descriptor <c>dirfd</c> itself (an <c>fstat</c>).</summary>
    internal const int AT_EMPTY_PATH = 0x1000;

    /// <summary><c>STATX_TYPE | STATX_MODE | STATX_UID</c>: the fields <see cref="StatXInfo"/> reads.</summary>
    internal const uint STATX_TYPE_MODE_UID = 0x1 | 0x2 | 0x8;

    /// <summary>Size of <c>struct statx</c>, the same on every architecture.</summary>
    internal const int StatXBufferSize = 256;

    internal const uint S_IFMT = 0xF000;
    internal const uint S_IFDIR = 0x4000;
    internal const uint S_IFLNK = 0xA000;

    /// <summary><c>statx(2)</c> on an open descriptor: pass an empty <paramref name="path"/> and <see cref="AT_EMPTY_PATH"/>.</summary>
    [LibraryImport(Libc, EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int StatX(SafeFileHandle dirfd, string path, int flags, uint mask, Span<byte> buffer);

    /// <summary><c>statx(2)</c> on a path (<paramref name="dirfd"/> = <see cref="AT_FDCWD"/>).</summary>
    [LibraryImport(Libc, EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int StatX(int dirfd, string path, int flags, uint mask, Span<byte> buffer);

    /// <summary>
    /// The owner and mode from a <c>struct statx</c> filled with <see cref="STATX_TYPE_MODE_UID"/> (its layout is fixed
    /// by the kernel ABI: <c>stx_uid</c> at byte 20, <c>stx_mode</c> at byte 28, in host byte order).
    /// </summary>
    internal readonly record struct StatXInfo(uint Uid, uint Mode)
    {
        /// <summary>Reads the fields from the buffer <see cref="StatX(SafeFileHandle, string, int, uint, Span{byte})"/> filled.</summary>
        internal static StatXInfo Read(ReadOnlySpan<byte> buffer) =>
            new(MemoryMarshal.Read<uint>(buffer[20..]), MemoryMarshal.Read<ushort>(buffer[28..]));

        /// <summary>The file type bits (<c>S_IFMT</c>).</summary>
        internal uint Type => Mode & S_IFMT;

        /// <summary>The permission bits, setuid/setgid/sticky included.</summary>
        internal uint Permissions => Mode & 0xFFF;
    }
}
