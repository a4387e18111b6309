using System.Globalization;
using System.Text;
using Microsoft.Win32.SafeHandles;
using static Virtualization.Core.Interop.Interop;

namespace Virtualization.Core.Lifecycle;

/// <summary>
/// Exclusive access to the round-robin cursor file of <see cref="CidAllocator"/>: a 64-bit counter written in decimal,
/// read and rewritten while this object holds an exclusive <c>flock</c> on the file (released when it is disposed, or
/// by the kernel when the process dies). Every writer takes the lock, so nobody ever reads a half-written value.
/// </summary>
internal sealed class CidCursor : IDisposable
{
    /// <summary>Largest counter accepted from the file; anything above (or not a number) counts as corrupt.</summary>
    internal const long MaxValue = 1L << 62;

    /// <summary>rw------- for a cursor file this creates.</summary>
    private const uint FileMode = 0x180;

    private readonly SafeFileHandle _file;

    private CidCursor(SafeFileHandle file) => _file = file;

    /// <summary>Opens (creating it if needed, never through a symbolic link) and locks the cursor file; blocks while another holder has it.</summary>
    /// <param name="path">The cursor file, in a folder private to this user.</param>
    internal static CidCursor Lock(string path)
    {
        SafeFileHandle file = Open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, FileMode);
        if (file.IsInvalid)
        {
            int openErrno = LastErrno;
            file.Dispose();
            throw CreateExceptionForErrno(openErrno, "open", path);
        }

        while (Flock(file, LOCK_EX) != 0)
        {
            int errno = LastErrno;
            if (errno != Errno.EINTR)
            {
                file.Dispose();
                throw CreateExceptionForErrno(errno, "flock", path);
            }
        }

        return new CidCursor(file);
    }

    /// <summary>The stored counter: 0 for a new (empty) file, <see langword="null"/> if the content is not a counter.</summary>
    internal long? Read()
    {
        Span<byte> buffer = stackalloc byte[32];
        int length = RandomAccess.Read(_file, buffer, 0);
        if (length == 0)
        {
            return 0;
        }

        return length < buffer.Length
            && long.TryParse(buffer[..length].TrimEnd((byte)'\n'), NumberStyles.None, CultureInfo.InvariantCulture, out long value)
            && value <= MaxValue
            ? value
            : null;
    }

    /// <summary>Replaces the stored counter with <paramref name="value"/>.</summary>
    internal void Write(long value)
    {
        byte[] text = Encoding.ASCII.GetBytes(value.ToString(CultureInfo.InvariantCulture) + "\n");
        RandomAccess.Write(_file, text, 0);
        RandomAccess.SetLength(_file, text.Length);
    }

    /// <summary>Closes the file, which drops the lock.</summary>
    public void Dispose() => _file.Dispose();
}
