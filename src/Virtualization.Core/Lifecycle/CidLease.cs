using Microsoft.Win32.SafeHandles;

namespace Virtualization.Core.Lifecycle;

/// <summary>A CID held through an exclusive <c>flock</c> on its lock file; disposing it releases the CID.</summary>
internal sealed class CidLease : IDisposable
{
    private readonly CidAllocator _owner;
    private SafeFileHandle? _lockFile;

    internal CidLease(CidAllocator owner, int cid, SafeFileHandle lockFile)
    {
        _owner = owner;
        Cid = cid;
        _lockFile = lockFile;
    }

    /// <summary>The CID held.</summary>
    internal int Cid { get; }

    /// <summary>Releases the CID (closing the file drops the lock). Idempotent.</summary>
    public void Dispose()
    {
        SafeFileHandle? lockFile = Interlocked.Exchange(ref _lockFile, null);
        if (lockFile is not null)
        {
            lockFile.Dispose();
            _owner.Released(Cid);
        }
    }
}
