using System.Globalization;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Virtualization.Core.Lifecycle;

/// <summary>
/// Hands out vsock CIDs that are unique among the live VMs of every process on the host (in this network namespace)
/// that uses this library with the same CID namespace. Holding CID n means having a <c>SOCK_STREAM</c> unix socket bound
/// to the abstract name <c>virtualization-core/&lt;namespace&gt;/cid/&lt;n&gt;</c>: a second bind fails with
/// <c>EADDRINUSE</c>, and the kernel frees the name when the holder closes the socket or dies. Nothing is on the
/// filesystem, so there is nothing for another user to plant links in or lock.
/// </summary>
/// <remarks>
/// CIDs are handed out round-robin from a cursor file that the allocators of one user sharing a temporary root share
/// (<see cref="CidCursor"/>): a monotonically increasing counter c, CID = first + c mod range size. Each allocation
/// writes max(file value, this allocator's last value) + how far it advanced, so the cursor never moves backward, even
/// if the file was damaged. A released CID is therefore not handed out again until the rest of the range was used;
/// CIDs held by anyone (including a name squatted by another user) are skipped.
/// </remarks>
internal sealed class CidAllocator
{
    /// <summary>Name of the cursor file in the service's temporary root.</summary>
    internal const string CursorFileName = "cid-cursor";

    private const int MaxNamespaceLength = 64;
    private readonly Lock _gate = new();
    private readonly string _namePrefix;
    private readonly string _cursorPath;
    private readonly int _first;
    private readonly int _last;
    private readonly long _rangeSize;
    private readonly ILogger _logger;
    private readonly HashSet<int> _held = [];
    private long _lastWritten;
    private long _lastReleaseTicks = long.MinValue / 2;

    /// <summary>Creates an allocator; nothing is touched until the first <see cref="Allocate"/>.</summary>
    /// <param name="cidNamespace">Allocators of different namespaces do not see each other's CIDs.</param>
    /// <param name="first">First CID of the range.</param>
    /// <param name="last">Last CID of the range.</param>
    /// <param name="cursorPath">The cursor file; its folder must exist and be private to this user when allocating.</param>
    /// <param name="logger">Where a damaged cursor file is reported.</param>
    /// <exception cref="ArgumentException"><paramref name="cidNamespace"/> is not 1-64 characters of <c>[A-Za-z0-9._-]</c>.</exception>
    internal CidAllocator(string cidNamespace, int first, int last, string cursorPath, ILogger? logger = null)
    {
        ValidateNamespace(cidNamespace, "options");
        _namePrefix = $"virtualization-core/{cidNamespace}/cid/";
        _cursorPath = cursorPath;
        _first = first;
        _last = last;
        _rangeSize = (long)last - first + 1;
        _logger = logger ?? NullLogger.Instance;
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

    /// <summary>Throws unless <paramref name="cidNamespace"/> is 1-64 characters of <c>[A-Za-z0-9._-]</c>.</summary>
    /// <param name="cidNamespace">The value of <see cref="VirtualizationServiceOptions.CidNamespace"/>.</param>
    /// <param name="paramName">The parameter the exception names (the service's options).</param>
    /// <exception cref="ArgumentException">It is not.</exception>
    internal static void ValidateNamespace(string? cidNamespace, string paramName)
    {
        if (cidNamespace is null
            || cidNamespace.Length is 0 or > MaxNamespaceLength
            || !cidNamespace.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
        {
            throw new ArgumentException(
                $"CidNamespace must be 1-{MaxNamespaceLength} characters of A-Z, a-z, 0-9, '.', '_' and '-' (got '{cidNamespace}'). "
                + "Keep the default unless you isolate tests.",
                paramName);
        }
    }

    /// <summary>
    /// How long after this allocator released a CID a full range is retried before it counts as exhausted. A released
    /// CID's socket can outlive its close for a moment: a process this host spawns at that instant (any
    /// <c>fork</c>/<c>vfork</c>, by this library or not) holds a copy of every descriptor until its <c>exec</c> closes
    /// the close-on-exec ones, and the kernel frees the name only with the last copy.
    /// </summary>
    internal static readonly TimeSpan ReleaseSettleTime = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Takes the next free CID at or after the shared cursor; when every CID is held but this allocator released one
    /// within <see cref="ReleaseSettleTime"/>, retries until that time is over before giving up.
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait for a released CID to become free.</param>
    /// <exception cref="CidExhaustedException">Every CID of the range is held.</exception>
    internal async Task<CidLease> AllocateAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                return Allocate();
            }
            catch (CidExhaustedException) when (ReleasedRecently())
            {
                await Task.Delay(TimeSpan.FromMilliseconds(10), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Takes the next free CID at or after the shared cursor.</summary>
    /// <exception cref="CidExhaustedException">Every CID of the range is held.</exception>
    internal CidLease Allocate()
    {
        lock (_gate)
        {
            using CidCursor cursor = CidCursor.Lock(_cursorPath);
            long? stored = cursor.Read();
            if (stored is null)
            {
                Log.CidCursorDamaged(_logger, _cursorPath, _lastWritten);
            }

            long start = Math.Max(stored ?? 0, _lastWritten);
            for (long step = 0; step < _rangeSize; step++)
            {
                long position = start + step;
                int cid = (int)(_first + (position % _rangeSize));
                if (_held.Contains(cid) || TryHold(cid) is not { } socket)
                {
                    continue;
                }

                try
                {
                    cursor.Write(position + 1);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }

                _lastWritten = position + 1;
                _held.Add(cid);
                return new CidLease(this, cid, position, socket);
            }

            throw new CidExhaustedException(_first, _last);
        }
    }

    /// <summary>Called by a lease once its socket is closed.</summary>
    internal void Released(int cid)
    {
        lock (_gate)
        {
            _held.Remove(cid);
            _lastReleaseTicks = Environment.TickCount64;
        }
    }

    private bool ReleasedRecently()
    {
        lock (_gate)
        {
            return Environment.TickCount64 - _lastReleaseTicks < (long)ReleaseSettleTime.TotalMilliseconds;
        }
    }

    /// <summary>Binds a new socket to the CID's name: the socket, or <see langword="null"/> if someone holds the name.</summary>
    private SafeSocketHandle? TryHold(int cid)
    {
        string name = _namePrefix + cid.ToString(CultureInfo.InvariantCulture);
        SafeSocketHandle socket = Interop.Sockets.Socket(Interop.Sockets.AF_UNIX, Interop.Sockets.SOCK_STREAM | Interop.Sockets.SOCK_CLOEXEC, 0);
        if (socket.IsInvalid)
        {
            Interop.Errno socketErrno = Interop.LastErrno;
            socket.Dispose();
            throw Interop.CreateExceptionForErrno(socketErrno, "socket", "AF_UNIX");
        }

        byte[] address = AbstractSocketAddress.Create(name);
        if (Interop.Sockets.Bind(socket, address, address.Length) == 0)
        {
            return socket;
        }

        Interop.Errno errno = Interop.LastErrno;
        socket.Dispose();
        return errno == Interop.Errno.EADDRINUSE ? null : throw Interop.CreateExceptionForErrno(errno, "bind", "abstract unix socket @" + name);
    }
}
