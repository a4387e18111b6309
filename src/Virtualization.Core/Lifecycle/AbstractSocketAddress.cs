using System.Text;
using static Virtualization.Core.Interop.Interop;

namespace Virtualization.Core.Lifecycle;

/// <summary>
/// A <c>sockaddr_un</c> in the Linux abstract namespace (unix(7)): the path starts with a NUL byte, the name follows
/// without a terminator and the address length delimits it. Nothing appears on the filesystem; the kernel frees the
/// name when the last descriptor of the socket bound to it closes.
/// </summary>
internal static class AbstractSocketAddress
{
    /// <summary><c>sun_path</c> holds 108 bytes; the first is the NUL that selects the abstract namespace.</summary>
    internal const int MaxNameBytes = 107;

    /// <summary>The serialized address of <paramref name="name"/> (given without the leading NUL).</summary>
    /// <exception cref="ArgumentException">The name is longer than <see cref="MaxNameBytes"/> bytes in UTF-8.</exception>
    internal static byte[] Create(string name)
    {
        int length = Encoding.UTF8.GetByteCount(name);
        if (length > MaxNameBytes)
        {
            throw new ArgumentException(
                $"The abstract socket name '{name}' is {length} bytes long; at most {MaxNameBytes} fit in a sockaddr_un.", nameof(name));
        }

        // sa_family_t (host byte order), then sun_path: NUL, then the name.
        var address = new byte[sizeof(ushort) + 1 + length];
        BitConverter.TryWriteBytes(address, (ushort)AF_UNIX);
        Encoding.UTF8.GetBytes(name, address.AsSpan(sizeof(ushort) + 1));
        return address;
    }
}
