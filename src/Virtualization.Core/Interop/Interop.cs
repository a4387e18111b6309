using System.Runtime.InteropServices;

namespace Virtualization.Core;

/// <summary>
/// Native Linux functions used by the library, in groups: <see cref="Sys"/> (files, descriptors, ids, processes),
/// <see cref="Sockets"/> and <see cref="Epoll"/>. One function per file (<c>Interop.Name.cs</c>), all declared with
/// <see cref="LibraryImportAttribute"/> and <c>SetLastError = true</c>; errno is read through <see cref="LastErrno"/>
/// and turned into exceptions only in <see cref="CreateExceptionForErrno(Errno, string, string?)"/>.
/// Functions only tests call live in the test project (<c>TestInterop</c>).
/// </summary>
internal static partial class Interop
{
    /// <summary>The C library every function here comes from.</summary>
    internal const string Libc = "libc";

    /// <summary>Files, descriptors, ids, ioctl, statx, flock and the process syscalls (<c>pidfd_*</c>).</summary>
    internal static partial class Sys
    {
    }

    /// <summary>Sockets of any family (<c>AF_VSOCK</c>, which .NET cannot create, included) and their addresses.</summary>
    internal static partial class Sockets
    {
    }

    /// <summary><c>epoll(7)</c>: the pidfd watcher's single wait loop.</summary>
    internal static partial class Epoll
    {
    }
}
