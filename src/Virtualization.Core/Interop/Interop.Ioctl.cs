using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Virtualization.Core.Interop;

internal static partial class Interop
{
    /// <summary><c>IOCTL_VM_SOCKETS_GET_LOCAL_CID</c> = <c>_IO(7, 0xb9)</c>, issued on <c>/dev/vsock</c>.</summary>
    internal const uint IOCTL_VM_SOCKETS_GET_LOCAL_CID = 0x7b9;

    /// <summary>
    /// <c>BLKGETSIZE64</c> = <c>_IOR(0x12, 114, size_t)</c>: a block device's size in bytes (a 64-bit value; the same
    /// number on x86_64 and aarch64). <c>fstat</c> reports size 0 for block devices.
    /// </summary>
    internal const uint BLKGETSIZE64 = 0x80081272;

    /// <summary><c>ioctl(2)</c> whose argument is a pointer to one 32-bit value.</summary>
    [LibraryImport(Libc, EntryPoint = "ioctl", SetLastError = true)]
    internal static partial int Ioctl(SafeFileHandle fd, nuint request, out uint value);

    /// <summary><c>ioctl(2)</c> whose argument is a pointer to one 64-bit value (<see cref="BLKGETSIZE64"/>).</summary>
    [LibraryImport(Libc, EntryPoint = "ioctl", SetLastError = true)]
    internal static partial int Ioctl(SafeFileHandle fd, nuint request, out ulong value);
}
