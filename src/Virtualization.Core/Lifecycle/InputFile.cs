using System.ComponentModel;
using Microsoft.Win32.SafeHandles;
using static Virtualization.Core.Interop.Interop;

namespace Virtualization.Core.Lifecycle;

/// <summary>
/// Looks at a file the caller named (kernel, initrd, bootloader, disk or partition image) without ever blocking on it:
/// a plain <c>open</c> of a FIFO with no writer never returns, and <c>CreateVmAsync</c> validates synchronously.
/// </summary>
/// <remarks>
/// Three steps. (1) <c>statx</c> on the path (symbolic links followed): it opens nothing, so a FIFO cannot block and a
/// device's open handler (a tape that rewinds, a watchdog that arms) never runs; anything that is not a regular file or
/// a block device is reported without being opened. (2) <c>open</c> with <c>O_NONBLOCK | O_CLOEXEC | O_NOCTTY</c>,
/// read-only or read-write as the VM will use it, which proves the access the VMM needs. <c>O_NONBLOCK</c> keeps the open
/// from blocking even if the path was replaced by a FIFO after step 1. (3) <c>statx</c> on the descriptor: the kind and
/// size of what was actually opened. A hung filesystem (a dead NFS or FUSE mount) can still block a stat; no flag avoids that.
/// </remarks>
internal static class InputFile
{
    private const uint Mask = STATX_TYPE | STATX_MODE | STATX_SIZE;

    /// <summary>Finds what <paramref name="fullPath"/> is and, for a regular file or block device, checks that it opens.</summary>
    /// <param name="fullPath">An absolute path.</param>
    /// <param name="writable">Whether it must open for reading and writing (else for reading).</param>
    /// <returns>The kind, and the size of a regular file or block device.</returns>
    /// <exception cref="FileNotFoundException">Nothing is at the path (or a symbolic link on it dangles).</exception>
    /// <exception cref="UnauthorizedAccessException">The path cannot be searched, or the file opened as needed.</exception>
    /// <exception cref="Win32Exception">Another error (for example <c>ENOTDIR</c>, <c>ELOOP</c>, <c>EROFS</c>).</exception>
    internal static InputFileInfo Probe(string fullPath, bool writable)
    {
        if (Statx(AT_FDCWD, fullPath, 0, Mask, out StatxBuffer byPath) != 0)
        {
            throw CreateExceptionForErrno(LastErrno, "statx", fullPath);
        }

        InputFileKind kind = KindOf(byPath);
        if (kind is not (InputFileKind.RegularFile or InputFileKind.BlockDevice))
        {
            return new InputFileInfo(kind, 0);
        }

        int flags = (writable ? O_RDWR : O_RDONLY) | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
        using SafeFileHandle handle = Open(fullPath, flags);
        if (handle.IsInvalid)
        {
            throw CreateExceptionForErrno(LastErrno, writable ? "open for reading and writing" : "open for reading", fullPath);
        }

        if (Statx(handle, string.Empty, AT_EMPTY_PATH, Mask, out StatxBuffer opened) != 0)
        {
            throw CreateExceptionForErrno(LastErrno, "statx", fullPath);
        }

        kind = KindOf(opened);
        long size = kind switch
        {
            InputFileKind.RegularFile => checked((long)opened.FileSize),
            InputFileKind.BlockDevice => BlockDeviceSize(handle, fullPath),
            _ => 0,
        };
        return new InputFileInfo(kind, size);
    }

    /// <summary>"a FIFO", "a directory", ...: for messages such as "'/x' is a FIFO; Kernel must be a regular file".</summary>
    internal static string Describe(InputFileKind kind) => kind switch
    {
        InputFileKind.RegularFile => "a regular file",
        InputFileKind.BlockDevice => "a block device",
        InputFileKind.Directory => "a directory",
        InputFileKind.Fifo => "a FIFO",
        InputFileKind.Socket => "a socket",
        InputFileKind.CharacterDevice => "a character device",
        _ => "a special file",
    };

    /// <summary>Whether <paramref name="e"/> is one of the exceptions <see cref="Probe"/> reports a path's problem with.</summary>
    internal static bool IsProbeFailure(Exception e) =>
        e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException or Win32Exception or IOException
            or ArgumentException; // EINVAL

    /// <summary>
    /// The end of a sentence that starts with the quoted path, for a <see cref="Probe"/> failure: "does not exist",
    /// "cannot be opened for reading: permission denied", ...
    /// </summary>
    internal static string Explain(Exception e, bool writable) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => "does not exist",
        Win32Exception { NativeErrorCode: Errno.ENOTDIR } => "does not exist (a component of the path is not a directory)",
        UnauthorizedAccessException => $"cannot be opened for {(writable ? "reading and writing" : "reading")}: permission denied",
        Win32Exception { NativeErrorCode: Errno.EROFS } => "cannot be opened for writing: it is on a read-only file system",
        Win32Exception w => $"cannot be opened: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(w.NativeErrorCode)} (errno {w.NativeErrorCode})",
        _ => "cannot be opened: " + e.Message.TrimEnd('.'),
    };

    private static InputFileKind KindOf(in StatxBuffer buffer) => buffer.FileType switch
    {
        S_IFREG => InputFileKind.RegularFile,
        S_IFBLK => InputFileKind.BlockDevice,
        S_IFDIR => InputFileKind.Directory,
        S_IFIFO => InputFileKind.Fifo,
        S_IFSOCK => InputFileKind.Socket,
        S_IFCHR => InputFileKind.CharacterDevice,
        _ => InputFileKind.Other,
    };

    private static long BlockDeviceSize(SafeFileHandle handle, string fullPath)
    {
        if (Ioctl(handle, BLKGETSIZE64, out ulong bytes) != 0)
        {
            throw CreateExceptionForErrno(LastErrno, "ioctl(BLKGETSIZE64)", fullPath);
        }

        return checked((long)bytes);
    }
}
