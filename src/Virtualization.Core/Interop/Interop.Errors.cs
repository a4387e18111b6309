using System.ComponentModel;
using System.Runtime.InteropServices;

namespace Virtualization.Core;

internal static partial class Interop
{
    /// <summary>errno values this library and its tests react to (Linux x86_64/aarch64 numbering).</summary>
    internal enum Errno
    {
        EPERM = 1,
        ENOENT = 2,
        ESRCH = 3,
        EINTR = 4,
        ENXIO = 6,
        EBADF = 9,
        ECHILD = 10,
        EAGAIN = 11,
        EWOULDBLOCK = EAGAIN,
        EACCES = 13,
        EEXIST = 17,
        ENODEV = 19,
        ENOTDIR = 20,
        EISDIR = 21,
        EINVAL = 22,
        EMFILE = 24,
        EROFS = 30,
        ENAMETOOLONG = 36,
        ELOOP = 40,
        ENOPROTOOPT = 92,
        EPROTONOSUPPORT = 93,
        ESOCKTNOSUPPORT = 94,
        EOPNOTSUPP = 95,
        EAFNOSUPPORT = 97,
        EADDRINUSE = 98,
        EADDRNOTAVAIL = 99,
        ENETUNREACH = 101,
        ECONNABORTED = 103,
        ECONNRESET = 104,
        ENOTCONN = 107,
        ETIMEDOUT = 110,
        ECONNREFUSED = 111,
        EHOSTUNREACH = 113,
        EALREADY = 114,
        EINPROGRESS = 115,
        ECANCELED = 125,
    }

    /// <summary>The errno left by the last native call made with <c>SetLastError = true</c>.</summary>
    internal static Errno LastErrno => (Errno)Marshal.GetLastPInvokeError();

    /// <summary>
    /// The one place where errno becomes an exception: <paramref name="operation"/> names the call and
    /// <paramref name="subject"/> what it was applied to (a path, an address), so the message says what failed.
    /// </summary>
    internal static Exception CreateExceptionForErrno(Errno errno, string operation, string? subject = null)
    {
        string what = subject is null ? operation : $"{operation} ({subject})";
        string message = $"{what} failed: {Marshal.GetPInvokeErrorMessage((int)errno)} (errno {(int)errno}).";
        return errno switch
        {
            Errno.ENOENT => new FileNotFoundException(message, subject),
            Errno.EACCES or Errno.EPERM => new UnauthorizedAccessException(message),
            Errno.EINVAL => new ArgumentException(message),
            _ => new Win32Exception((int)errno, message),
        };
    }

    /// <summary>Throws the exception <see cref="CreateExceptionForErrno"/> makes for <paramref name="errno"/>.</summary>
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    internal static void ThrowForErrno(Errno errno, string operation, string? subject = null) =>
        throw CreateExceptionForErrno(errno, operation, subject);
}
