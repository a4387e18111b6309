using System.ComponentModel;
using System.Runtime.InteropServices;

namespace Virtualization.Core.Interop;

internal static partial class Interop
{
    /// <summary>errno values this library reacts to (Linux x86_64/aarch64 numbering).</summary>
    internal static class Errno
    {
        internal const int EPERM = 1;
        internal const int ENOENT = 2;
        internal const int ESRCH = 3;
        internal const int EINTR = 4;
        internal const int ENXIO = 6;
        internal const int EBADF = 9;
        internal const int EAGAIN = 11;
        internal const int EWOULDBLOCK = EAGAIN;
        internal const int EACCES = 13;
        internal const int EEXIST = 17;
        internal const int ENOTDIR = 20;
        internal const int EISDIR = 21;
        internal const int EINVAL = 22;
        internal const int EROFS = 30;
        internal const int ENAMETOOLONG = 36;
        internal const int ELOOP = 40;
        internal const int ENODEV = 19;
        internal const int EMFILE = 24;
        internal const int EADDRINUSE = 98;
        internal const int EADDRNOTAVAIL = 99;
        internal const int EAFNOSUPPORT = 97;
        internal const int ECONNRESET = 104;
        internal const int ETIMEDOUT = 110;
        internal const int ECONNREFUSED = 111;
        internal const int EINPROGRESS = 115;
        internal const int ENOPROTOOPT = 92;
        internal const int EPROTONOSUPPORT = 93;
        internal const int ESOCKTNOSUPPORT = 94;
        internal const int EOPNOTSUPP = 95;
        internal const int ENETUNREACH = 101;
        internal const int ECONNABORTED = 103;
        internal const int ENOTCONN = 107;
        internal const int EHOSTUNREACH = 113;
        internal const int EALREADY = 114;
        internal const int ECANCELED = 125;
    }

    /// <summary>The errno left by the last native call made with <c>SetLastError = true</c>.</summary>
    internal static int LastErrno => Marshal.GetLastPInvokeError();

    /// <summary>
    /// The one place where errno becomes an exception: <paramref name="operation"/> names the call and
    /// <paramref name="subject"/> what it was applied to (a path, an address), so the message says what failed.
    /// </summary>
    internal static Exception CreateExceptionForErrno(int errno, string operation, string? subject = null)
    {
        string what = subject is null ? operation : $"{operation} ({subject})";
        string message = $"{what} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}).";
        return errno switch
        {
            Errno.ENOENT => new FileNotFoundException(message, subject),
            Errno.EACCES or Errno.EPERM => new UnauthorizedAccessException(message),
            Errno.EINVAL => new ArgumentException(message),
            _ => new Win32Exception(errno, message),
        };
    }

    /// <summary>Throws the exception <see cref="CreateExceptionForErrno"/> makes for <paramref name="errno"/>.</summary>
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    internal static void ThrowForErrno(int errno, string operation, string? subject = null) =>
        throw CreateExceptionForErrno(errno, operation, subject);
}
