using System.Net.Sockets;

namespace Virtualization.Core.Lifecycle;

/// <summary>A CID held through a socket bound to its abstract name; disposing it releases the CID.</summary>
internal sealed class CidLease : IDisposable
{
    private readonly CidAllocator _owner;
    private SafeSocketHandle? _socket;

    internal CidLease(CidAllocator owner, int cid, long position, SafeSocketHandle socket)
    {
        _owner = owner;
        Cid = cid;
        Position = position;
        _socket = socket;
    }

    /// <summary>The CID held.</summary>
    internal int Cid { get; }

    /// <summary>The cursor value this CID was taken at (CID = first + position mod range size); tests check its order.</summary>
    internal long Position { get; }

    /// <summary>Releases the CID (closing the socket frees its name). Idempotent.</summary>
    public void Dispose()
    {
        SafeSocketHandle? socket = Interlocked.Exchange(ref _socket, null);
        if (socket is not null)
        {
            socket.Dispose();
            _owner.Released(Cid);
        }
    }
}
