using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Virtualization.Core.Interop;

internal static partial class Interop
{
    /// <summary><c>IOCTL_VM_SOCKETS_GET_LOCAL_CID</c> = <c>_IO(7, 0xb9)</c>, issued on <c>/dev/vsock</c>.</summary>
    internal const uint IOCTL_VM_SOCKETS_GET_LOCAL_CID = 0x7b9;

    /// <summary><c>ioctl(2)</c> whose argument is a pointer to one 32-bit value.</summary>
    [LibraryImport(Libc, EntryPoint = "ioctl", SetLastError = true)]
    internal static partial int Ioctl(SafeFileHandle fd, nuint request, out uint value);
}
