using System.Globalization;
using Microsoft.Win32.SafeHandles;
using static Virtualization.Core.Interop.Interop;

namespace Virtualization.Core.Lifecycle;

/// <summary>
/// Folders that only this process's effective user may touch: the service's temporary root and the VM folders in it.
/// The root is opened without following a symbolic link and checked through the open descriptor, so what is checked is
/// what is used; the chain of parent folders is not checked (see docs/reliability.md, "Security model").
/// </summary>
internal static class PrivateDirectory
{
    private const uint StatxMask = STATX_TYPE | STATX_MODE | STATX_UID;

    /// <summary>0700: read, write and search for the owner only.</summary>
    internal const uint OwnerOnly = 0x1C0;

    /// <summary><c>S_ISVTX</c>, the sticky bit: the mark of a folder meant to be shared, like <c>/tmp</c>.</summary>
    private const uint Sticky = 0x200;

    /// <summary>
    /// Makes sure <paramref name="path"/> is a directory owned by the effective uid with mode 0700: creates it (0700) if
    /// it is missing, tightens it to 0700 if it is ours with other permission bits. A sticky folder of ours (root's
    /// <c>/tmp</c>, say) is refused rather than closed: others rely on it.
    /// </summary>
    /// <param name="path">An absolute path.</param>
    /// <returns>The permission bits it had when they had to be tightened, else <see langword="null"/>.</returns>
    /// <exception cref="UnsafeDirectoryException">It is a symbolic link, not a directory, owned by another user, or sticky.</exception>
    internal static uint? Ensure(string path)
    {
        path = Path.TrimEndingDirectorySeparator(path); // "link/" would follow the link despite O_NOFOLLOW
        using SafeFileHandle directory = OpenOrCreate(path);
        if (Statx(directory, string.Empty, AT_EMPTY_PATH, StatxMask, out StatxBuffer info) != 0)
        {
            throw CreateExceptionForErrno(LastErrno, "statx", path);
        }

        if (info.Uid != GetEUid())
        {
            throw NotOurs(path, info.Uid);
        }

        if (info.Permissions == OwnerOnly)
        {
            return null;
        }

        if ((info.Permissions & Sticky) != 0)
        {
            throw new UnsafeDirectoryException(
                path,
                info.Uid,
                "it is a shared folder (sticky bit set, like /tmp) that other users may create files in",
                "It is left as it is. Choose another TemporaryDirectory: a folder of the service's own, for example one inside it.");
        }

        if (FChMod(directory, OwnerOnly) != 0)
        {
            throw CreateExceptionForErrno(LastErrno, "fchmod", path);
        }

        return info.Permissions;
    }

    /// <summary>
    /// Removes whatever is at <paramref name="path"/> without following a symbolic link there: a directory with its
    /// content (links inside are removed, not followed), anything else (a link included) by unlinking it.
    /// </summary>
    /// <returns>Whether something was there.</returns>
    internal static bool RemoveLeftover(string path)
    {
        if (Statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, StatxMask, out StatxBuffer info) != 0)
        {
            int errno = LastErrno;
            return errno == Errno.ENOENT ? false : throw CreateExceptionForErrno(errno, "statx", path);
        }

        if (info.FileType == S_IFDIR)
        {
            Directory.Delete(path, recursive: true);
        }
        else
        {
            File.Delete(path);
        }

        return true;
    }

    /// <summary>Creates a new directory with mode 0700; fails if anything is already at <paramref name="path"/>.</summary>
    internal static void CreateNew(string path)
    {
        if (MkDir(path, OwnerOnly) != 0)
        {
            throw CreateExceptionForErrno(LastErrno, "mkdir", path);
        }
    }

    private static SafeFileHandle OpenOrCreate(string path)
    {
        int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
        SafeFileHandle directory = Open(path, flags);
        if (directory.IsInvalid && LastErrno == Errno.ENOENT)
        {
            directory.Dispose();
            CreateMissing(path);
            directory = Open(path, flags);
        }

        if (!directory.IsInvalid)
        {
            return directory;
        }

        int errno = LastErrno;
        directory.Dispose();
        throw ExplainOpenFailure(path, errno);
    }

    private static void CreateMissing(string path)
    {
        if (MkDir(path, OwnerOnly) == 0)
        {
            return;
        }

        int errno = LastErrno;
        if (errno == Errno.ENOENT && Path.GetDirectoryName(path) is { } parent)
        {
            // Missing parents are made like Directory.CreateDirectory makes them; only the root itself is private.
            Directory.CreateDirectory(parent);
            if (MkDir(path, OwnerOnly) == 0)
            {
                return;
            }

            errno = LastErrno;
        }

        if (errno != Errno.EEXIST)
        {
            // EEXIST: created meanwhile, by us or someone else; the checks after opening decide.
            throw CreateExceptionForErrno(errno, "mkdir", path);
        }
    }

    /// <summary>Why the root could not be opened: unsafe (a link, not a directory, someone else's), or the errno.</summary>
    private static Exception ExplainOpenFailure(string path, int errno)
    {
        if (Statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, StatxMask, out StatxBuffer info) != 0)
        {
            return CreateExceptionForErrno(errno, "open", path);
        }

        if (info.FileType == S_IFLNK)
        {
            return new UnsafeDirectoryException(path, info.Uid, "it is a symbolic link");
        }

        if (info.FileType != S_IFDIR)
        {
            return new UnsafeDirectoryException(path, info.Uid, "it is not a directory");
        }

        return info.Uid != GetEUid() ? NotOurs(path, info.Uid) : CreateExceptionForErrno(errno, "open", path);
    }

    private static UnsafeDirectoryException NotOurs(string path, uint owner) =>
        new(path, owner, string.Create(
            CultureInfo.InvariantCulture, $"it is owned by uid {owner}, but this process runs as uid {GetEUid()}"));
}
