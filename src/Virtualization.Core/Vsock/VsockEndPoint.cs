using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Win32.SafeHandles;
using Virtualization.Core.Vsock;

namespace Virtualization.Core;

/// <summary>
/// A vsock address: a context id (CID, which names a VM or the host) and a port. Serializes to the kernel's
/// 16-byte <c>struct sockaddr_vm</c>.
/// </summary>
/// <remarks>
/// <para>
/// .NET has no <see cref="System.Net.Sockets.AddressFamily"/> member for <c>AF_VSOCK</c> (40).
/// <see cref="AddressFamily"/> reports <see cref="AddressFamily.Unknown"/>, the value
/// <see cref="Socket.AddressFamily"/> reports for a socket wrapping an <c>AF_VSOCK</c> descriptor, so this
/// end point is accepted by <see cref="Socket.Bind(EndPoint)"/> and <see cref="Socket.ConnectAsync(EndPoint)"/>
/// on such a socket. <see cref="Serialize"/> writes the real family (40) into the address bytes.
/// </para>
/// <para>
/// CIDs and ports are <see cref="int"/> throughout the library's API (as <see cref="IVirtualMachine.Cid"/> and
/// <see cref="IPEndPoint.Port"/>; <see cref="uint"/> is not CLS-compliant). The kernel's values are unsigned 32-bit
/// numbers stored bit for bit: <c>VMADDR_CID_ANY</c> and <c>VMADDR_PORT_ANY</c> (<c>0xFFFFFFFF</c>) are -1, and a port
/// above <see cref="int.MaxValue"/> (the kernel picks ephemeral ports anywhere above 1023) is negative here;
/// <see cref="ToString"/> prints ports and CIDs unsigned.
/// </para>
/// </remarks>
public sealed class VsockEndPoint : EndPoint, IEquatable<VsockEndPoint>
{
    /// <summary><c>VMADDR_CID_ANY</c> (<c>0xFFFFFFFF</c>, so -1): bind to every local CID.</summary>
    public const int Any = -1;

    /// <summary><c>VMADDR_CID_HYPERVISOR</c>: reserved for services built into the hypervisor.</summary>
    public const int Hypervisor = 0;

    /// <summary><c>VMADDR_CID_LOCAL</c>: local (loopback) communication; needs the <c>vsock_loopback</c> transport.</summary>
    public const int Local = 1;

    /// <summary><c>VMADDR_CID_HOST</c>: the host, as seen from a guest.</summary>
    public const int Host = 2;

    /// <summary><c>VMADDR_PORT_ANY</c> (<c>0xFFFFFFFF</c>, so -1): let the kernel choose a free port when binding.</summary>
    public const int AnyPort = -1;

    /// <summary>The size of <c>struct sockaddr_vm</c> in bytes.</summary>
    internal const int SockAddrSize = 16;

    // struct sockaddr_vm: family u16 @0, reserved1 u16 @2, port u32 @4, cid u32 @8, flags u8 @12, zero[3] @13.
    internal const int FamilyOffset = 0;
    internal const int PortOffset = 4;
    internal const int CidOffset = 8;
    internal const int FlagsOffset = 12;

    /// <summary>Creates an end point for <paramref name="cid"/> and <paramref name="port"/>.</summary>
    /// <param name="cid">The context id: a VM's CID, <see cref="Host"/>, <see cref="Local"/> or <see cref="Any"/>.</param>
    /// <param name="port">The port, or <see cref="AnyPort"/> to let the kernel choose one when binding.</param>
    /// <param name="flags">The <c>svm_flags</c> byte; normally <see cref="VsockAddressOptions.None"/>.</param>
    public VsockEndPoint(int cid, int port, VsockAddressOptions flags = VsockAddressOptions.None)
    {
        Cid = cid;
        Port = port;
        Flags = flags;
    }

    /// <summary>The context id (<c>svm_cid</c>).</summary>
    public int Cid { get; }

    /// <summary>The port (<c>svm_port</c>).</summary>
    public int Port { get; }

    /// <summary>The flags (<c>svm_flags</c>).</summary>
    public VsockAddressOptions Flags { get; }

    /// <summary>
    /// <see cref="AddressFamily.Unknown"/>: what .NET reports for an <c>AF_VSOCK</c> socket (see the remarks on
    /// the type). The serialized address carries the real family, 40.
    /// </summary>
    public override AddressFamily AddressFamily => AddressFamily.Unknown;

    /// <summary>Writes the 16-byte <c>struct sockaddr_vm</c>, with the family bytes set to <c>AF_VSOCK</c> (40).</summary>
    /// <returns>A 16-byte socket address.</returns>
    public override SocketAddress Serialize()
    {
        // SocketAddress cannot be constructed with family 40 (unknown families throw on Unix), so it is created
        // unspecified and the family bytes are overwritten; the buffer is writable since .NET 8.
        var address = new SocketAddress(AddressFamily.Unspecified, SockAddrSize);
        Write(address.Buffer.Span);
        return address;
    }

    /// <summary>Reads a <c>struct sockaddr_vm</c>.</summary>
    /// <param name="socketAddress">At least 16 bytes whose family bytes are <c>AF_VSOCK</c> (40).</param>
    /// <returns>A new <see cref="VsockEndPoint"/>.</returns>
    /// <exception cref="ArgumentException">The address is shorter than 16 bytes or not an <c>AF_VSOCK</c> address.</exception>
    public override EndPoint Create(SocketAddress socketAddress)
    {
        ArgumentNullException.ThrowIfNull(socketAddress);
        return Read(socketAddress.Buffer.Span[..socketAddress.Size]);
    }

    /// <summary>
    /// The local CID of this machine (<c>IOCTL_VM_SOCKETS_GET_LOCAL_CID</c> on <c>/dev/vsock</c>): a VM's own CID
    /// inside a guest, <see cref="Host"/> on a host.
    /// </summary>
    /// <returns>The local context id.</returns>
    /// <exception cref="VsockException"><c>/dev/vsock</c> is missing or the ioctl failed.</exception>
    public static int GetLocalCid()
    {
        const string device = "/dev/vsock";
        using SafeFileHandle fd = Interop.Sys.Open(device, Interop.Sys.O_RDONLY | Interop.Sys.O_CLOEXEC);
        if (fd.IsInvalid)
        {
            throw VsockErrors.ForDevice(Interop.LastErrno, "open", device);
        }

        if (Interop.Sys.Ioctl(fd, Interop.Sys.IOCTL_VM_SOCKETS_GET_LOCAL_CID, out uint cid) != 0)
        {
            throw VsockErrors.ForDevice(Interop.LastErrno, "ioctl(IOCTL_VM_SOCKETS_GET_LOCAL_CID)", device);
        }

        return unchecked((int)cid);
    }

    /// <summary>Formats as <c>vsock:CID:PORT</c>; <see cref="Any"/> and <see cref="AnyPort"/> print as <c>any</c>.</summary>
    /// <returns>For example <c>vsock:3:5000</c> or <c>vsock:any:any</c>.</returns>
    public override string ToString()
    {
        string cid = Cid == Any ? "any" : unchecked((uint)Cid).ToString(CultureInfo.InvariantCulture);
        string port = Port == AnyPort ? "any" : unchecked((uint)Port).ToString(CultureInfo.InvariantCulture);
        return Flags == VsockAddressOptions.None ? $"vsock:{cid}:{port}" : $"vsock:{cid}:{port} ({Flags})";
    }

    /// <summary>Whether <paramref name="other"/> has the same CID, port and flags.</summary>
    /// <param name="other">The end point to compare with.</param>
    /// <returns><see langword="true"/> when all three fields are equal.</returns>
    public bool Equals(VsockEndPoint? other) =>
        other is not null && other.Cid == Cid && other.Port == Port && other.Flags == Flags;

    /// <summary>Whether <paramref name="obj"/> is a <see cref="VsockEndPoint"/> with the same CID, port and flags.</summary>
    /// <param name="obj">The object to compare with.</param>
    /// <returns><see langword="true"/> when equal.</returns>
    public override bool Equals(object? obj) => Equals(obj as VsockEndPoint);

    /// <summary>A hash of the CID, port and flags.</summary>
    /// <returns>The hash code.</returns>
    public override int GetHashCode() => HashCode.Combine(Cid, Port, Flags);

    /// <summary>Whether two end points are equal (both <see langword="null"/> counts as equal).</summary>
    /// <param name="left">The first end point.</param>
    /// <param name="right">The second end point.</param>
    /// <returns><see langword="true"/> when equal.</returns>
    public static bool operator ==(VsockEndPoint? left, VsockEndPoint? right) =>
        left is null ? right is null : left.Equals(right);

    /// <summary>Whether two end points differ.</summary>
    /// <param name="left">The first end point.</param>
    /// <param name="right">The second end point.</param>
    /// <returns><see langword="true"/> when not equal.</returns>
    public static bool operator !=(VsockEndPoint? left, VsockEndPoint? right) => !(left == right);

    /// <summary>Writes the <c>sockaddr_vm</c> bytes into the first 16 bytes of <paramref name="destination"/>.</summary>
    internal void Write(Span<byte> destination)
    {
        Span<byte> sockaddr = destination[..SockAddrSize];
        sockaddr.Clear(); // reserved1 and zero[] must be 0
        // Host byte order throughout, as the kernel uses.
        BitConverter.TryWriteBytes(sockaddr[FamilyOffset..], (ushort)Interop.Sockets.AF_VSOCK);
        BitConverter.TryWriteBytes(sockaddr[PortOffset..], Port);
        BitConverter.TryWriteBytes(sockaddr[CidOffset..], Cid);
        sockaddr[FlagsOffset] = (byte)Flags;
    }

    /// <summary>Reads a <c>sockaddr_vm</c>, checking its size and family.</summary>
    internal static VsockEndPoint Read(ReadOnlySpan<byte> sockaddr)
    {
        if (sockaddr.Length < SockAddrSize)
        {
            throw new ArgumentException(
                $"A sockaddr_vm is {SockAddrSize} bytes; this address has {sockaddr.Length}.", nameof(sockaddr));
        }

        ushort family = BitConverter.ToUInt16(sockaddr[FamilyOffset..]);
        if (family != Interop.Sockets.AF_VSOCK)
        {
            throw new ArgumentException(
                $"Not an AF_VSOCK ({Interop.Sockets.AF_VSOCK}) address: its family is {family}.", nameof(sockaddr));
        }

        return new VsockEndPoint(
            cid: BitConverter.ToInt32(sockaddr[CidOffset..]),
            port: BitConverter.ToInt32(sockaddr[PortOffset..]),
            flags: (VsockAddressOptions)sockaddr[FlagsOffset]);
    }
}
