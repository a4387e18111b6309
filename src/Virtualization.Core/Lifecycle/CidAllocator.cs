using System.Globalization;
using Microsoft.Win32.SafeHandles;

namespace Virtualization.Core.Lifecycle;

/// <summary>
/// Hands out vsock CIDs that are unique among live VMs of every process on the host that uses this library: a CID is
/// held by an exclusive, non-blocking <c>flock</c> on <c>&lt;lock dir&gt;/&lt;cid&gt;.lock</c>, which the kernel drops when
/// the holder closes it or dies. CIDs are taken round-robin from a cursor shared through a hint file, so a released
/// CID is not handed out again until the rest of the range has been used (wrapping around, skipping held CIDs).
/// Lock files are never deleted: deleting a lock file races with another process locking it.
/// </summary>
internal sealed class CidAllocator
{
    private const string HintFileName = "next";
    private const int SharingViolation = unchecked((int)0x80070020);
    private readonly Lock _gate = new();
    private readonly string _directory;
    private readonly int _first;
    private readonly int _last;
    private readonly HashSet<int> _held = [];
    private int _next;
    private bool _initialized;

    internal CidAllocator(string directory, int first, int last)
    {
        _directory = directory;
        _first = first;
        _last = last;
        _next = first;
    }

    /// <summary>CIDs this allocator holds now (for diagnostics and tests).</summary>
    internal int HeldCount
    {
        get
        {
            lock (_gate)
            {
                return _held.Count;
            }
        }
    }

    /// <summary>Takes the next free CID.</summary>
    /// <exception cref="CidExhaustedException">Every CID of the range is held.</exception>
    internal CidLease Allocate()
    {
        lock (_gate)
        {
            if (!_initialized)
            {
                Initialize();
            }

            // Follow the cursor of other processes, so none of them re-issues a CID one of us just released.
            _next = ReadHint() ?? _next;

            long rangeSize = (long)_last - _first + 1;
            for (long attempt = 0; attempt < rangeSize; attempt++)
            {
                int cid = _next;
                _next = cid == _last ? _first : cid + 1;
                if (_held.Contains(cid) || TryLock(cid) is not { } handle)
                {
                    continue;
                }

                _held.Add(cid);
                WriteHint(_next);
                return new CidLease(this, cid, handle);
            }

            throw new CidExhaustedException(_first, _last);
        }
    }

    /// <summary>Called by a lease once its lock is dropped.</summary>
    internal void Released(int cid)
    {
        lock (_gate)
        {
            _held.Remove(cid);
        }
    }

    private void Initialize()
    {
        if (!Directory.Exists(_directory))
        {
            Directory.CreateDirectory(_directory);
            try
            {
                // Shared by every user of the host, like /tmp: world-writable and sticky.
                File.SetUnixFileMode(
                    _directory,
                    UnixFileMode.StickyBit | UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                    | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
                    | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute);
            }
            catch (UnauthorizedAccessException)
            {
                // Made by someone else in the meantime: their mode stands.
            }
        }

        _initialized = true;
    }

    private SafeFileHandle? TryLock(int cid)
    {
        string path = Path.Combine(_directory, cid.ToString(CultureInfo.InvariantCulture) + ".lock");
        SafeFileHandle handle;
        try
        {
            // Read access is enough for flock, and works on a lock file another user created.
            handle = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
        catch (IOException e) when (e.HResult is SharingViolation or Interop.Interop.Errno.EWOULDBLOCK)
        {
            // .NET itself takes a shared flock when opening (reporting errno 11 as the HResult); it fails while another
            // process holds the CID.
            return null;
        }

        if (Interop.Interop.Flock(handle, Interop.Interop.LOCK_EX | Interop.Interop.LOCK_NB) == 0)
        {
            return handle;
        }

        int errno = Interop.Interop.LastErrno;
        handle.Dispose();
        if (errno == Interop.Interop.Errno.EWOULDBLOCK)
        {
            return null;
        }

        throw Interop.Interop.CreateExceptionForErrno(errno, "flock", path);
    }

    private int? ReadHint()
    {
        try
        {
            string text = File.ReadAllText(Path.Combine(_directory, HintFileName));
            return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int next)
                && next >= _first && next <= _last ? next : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private void WriteHint(int next)
    {
        // Best effort: the hint only spreads CIDs out across processes; the locks are what guarantee uniqueness.
        try
        {
            File.WriteAllText(Path.Combine(_directory, HintFileName), next.ToString(CultureInfo.InvariantCulture));
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
