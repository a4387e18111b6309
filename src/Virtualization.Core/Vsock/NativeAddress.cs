using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Virtualization.Core.Vsock;

/// <summary>
/// What the family-independent socket layer binds or connects to: the serialized <c>sockaddr</c> (whose first
/// two bytes give the family passed to <c>socket()</c>), the typed end point it came from (used to decode
/// addresses the kernel returns) and the words error messages use for it. <c>AF_VSOCK</c> in the library;
/// <c>AF_UNIX</c> (and loopback <c>AF_INET</c>) in tests, through exactly the same code.
/// </summary>
internal sealed class NativeAddress
{
    private readonly byte[] _sockaddr;

    private NativeAddress(EndPoint endPoint, string description, VsockEndPoint? vsock)
    {
        SocketAddress serialized = endPoint.Serialize();
        _sockaddr = serialized.Buffer.Span[..serialized.Size].ToArray();
        Family = BitConverter.ToUInt16(_sockaddr); // sa_family_t, host byte order
        EndPoint = endPoint;
        Description = description;
        Vsock = vsock;
    }

    /// <summary>The native address family (<c>AF_*</c>), read from the serialized address.</summary>
    public int Family { get; }

    /// <summary>The serialized <c>sockaddr</c>.</summary>
    public ReadOnlySpan<byte> SockAddr => _sockaddr;

    /// <summary>The typed end point the address was serialized from.</summary>
    public EndPoint EndPoint { get; }

    /// <summary>How messages name the address, e.g. <c>port 5000 in VM CID 3</c>.</summary>
    public string Description { get; }

    /// <summary>The vsock address this stands for (also when a test maps it onto a unix socket), if any.</summary>
    public VsockEndPoint? Vsock { get; }

    /// <summary>Whether the socket itself is <c>AF_VSOCK</c>.</summary>
    public bool IsVsockFamily => Family == Interop.Sockets.AF_VSOCK;

    /// <summary>A real <c>AF_VSOCK</c> address.</summary>
    public static NativeAddress ForVsock(VsockEndPoint endPoint) =>
        new(endPoint, Describe(endPoint), endPoint);

    /// <summary>
    /// A unix socket at <paramref name="path"/>. With <paramref name="standsFor"/>, messages and exceptions speak
    /// of that vsock address (tests of vsock users run over unix sockets this way).
    /// </summary>
    public static NativeAddress ForUnix(string path, VsockEndPoint? standsFor = null) =>
        new(new UnixDomainSocketEndPoint(path),
            standsFor is null ? $"unix socket {path}" : $"{Describe(standsFor)} (unix socket {path})",
            standsFor);

    /// <summary>An IP address; tests use loopback TCP for a connect that stays pending.</summary>
    public static NativeAddress ForIp(IPEndPoint endPoint) =>
        new(endPoint, $"TCP {endPoint}", null);

    /// <summary>Decodes a <c>sockaddr</c> of this family returned by the kernel into a typed end point.</summary>
    public EndPoint Decode(ReadOnlySpan<byte> sockaddr)
    {
        // Created unspecified and overwritten with the kernel's bytes, family included.
        var address = new SocketAddress(AddressFamily.Unspecified, sockaddr.Length);
        sockaddr.CopyTo(address.Buffer.Span);
        return EndPoint.Create(address);
    }

    /// <inheritdoc/>
    public override string ToString() => Description;

    private static string Describe(VsockEndPoint endPoint)
    {
        // Ports and CIDs are unsigned 32-bit in the kernel (as VsockEndPoint.ToString prints them): the kernel hands out
        // ephemeral ports above 2^31, which would print negative as an int.
        string port = endPoint.Port == VsockEndPoint.AnyPort ? "any port" : "port " + unchecked((uint)endPoint.Port).ToString(CultureInfo.InvariantCulture);
        string cid = endPoint.Cid switch
        {
            VsockEndPoint.Any => "any CID",
            VsockEndPoint.Host => "the host (CID 2)",
            VsockEndPoint.Local => "the local CID 1",
            _ => "VM CID " + unchecked((uint)endPoint.Cid).ToString(CultureInfo.InvariantCulture),
        };
        return $"{port} in {cid}";
    }
}
