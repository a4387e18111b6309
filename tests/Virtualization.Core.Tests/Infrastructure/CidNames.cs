using System.Globalization;
using System.Net.Sockets;

namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>The abstract socket names that hold CIDs (<c>@virtualization-core/&lt;namespace&gt;/cid/&lt;cid&gt;</c>), seen from outside the allocator.</summary>
internal static class CidNames
{
    /// <summary>Holds a CID the way another process would: a stream socket bound to its documented abstract name.</summary>
    public static Socket Bind(string cidNamespace, int cid)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint($"\0virtualization-core/{cidNamespace}/cid/{cid.ToString(CultureInfo.InvariantCulture)}"));
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Whether no socket of any process is bound to <paramref name="cid"/>'s name (the kernel's list, without binding one
    /// ourselves: a probe socket could itself be pinned by another test's fork).
    /// </summary>
    public static bool IsFree(string cidNamespace, int cid)
    {
        string name = $"@virtualization-core/{cidNamespace}/cid/{cid}";
        return !File.ReadLines("/proc/net/unix").Any(line => line.EndsWith(" " + name, StringComparison.Ordinal));
    }
}
