using System.Net.Sockets;

namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>
/// Two connected AF_UNIX stream sockets (through a listener on a temporary path, removed at once): <see cref="Local"/>
/// stands for the library's end of a VMM's console socket, <see cref="Remote"/> for the VMM's.
/// </summary>
internal sealed class UnixSocketPair : IDisposable
{
    private UnixSocketPair(Socket local, Socket remote)
    {
        Local = local;
        Remote = remote;
    }

    /// <summary>The library's end.</summary>
    public Socket Local { get; }

    /// <summary>The other end (the VMM's).</summary>
    public Socket Remote { get; }

    /// <summary>Connects a new pair.</summary>
    public static UnixSocketPair Create()
    {
        string path = Path.Combine(Path.GetTempPath(), $"vcore-pair-{Guid.NewGuid():N}.sock");
        var endPoint = new UnixDomainSocketEndPoint(path);
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(endPoint);
        try
        {
            listener.Listen(1);
            var local = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            local.Connect(endPoint); // completes against the backlog, before the accept
            return new UnixSocketPair(local, listener.Accept());
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Reads from <see cref="Remote"/> until the local end shuts down its sending side (end-of-file).</summary>
    public async Task<byte[]> ReadRemoteToEndAsync()
    {
        using var received = new MemoryStream();
        await using var stream = new NetworkStream(Remote, ownsSocket: false);
        await stream.CopyToAsync(received);
        return received.ToArray();
    }

    public void Dispose()
    {
        Local.Dispose();
        Remote.Dispose();
    }
}
