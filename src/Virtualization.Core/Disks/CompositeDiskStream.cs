using Microsoft.Win32.SafeHandles;

namespace Virtualization.Core.Disks;

/// <summary>Read-only flattened view of a composite disk. See <see cref="CompositeDisk.OpenRead"/>.</summary>
internal sealed class CompositeDiskStream : Stream
{
    private readonly IReadOnlyList<CompositeDiskComponent> _components; // sorted by offset, distinct offsets
    private readonly long _length;
    private readonly SafeFileHandle?[] _handles;
    private readonly bool[] _opened;
    private long _position;
    private bool _disposed;

    public CompositeDiskStream(IReadOnlyList<CompositeDiskComponent> components, long length)
    {
        _components = components;
        _length = length;
        _handles = new SafeFileHandle?[components.Count];
        _opened = new bool[components.Count];
    }

    public override bool CanRead => !_disposed;

    public override bool CanSeek => !_disposed;

    public override bool CanWrite => false;

    public override long Length
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _length;
        }
    }

    public override long Position
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _position;
        }

        set
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _position = value;
        }
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        long target = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            SeekOrigin.End => _length + offset,
            _ => throw new ArgumentOutOfRangeException(nameof(origin)),
        };
        if (target < 0)
        {
            throw new IOException("An attempt was made to move the position before the beginning of the stream.");
        }

        _position = target;
        return target;
    }

    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        return Read(buffer.AsSpan(offset, count));
    }

    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_position >= _length || buffer.IsEmpty)
        {
            return 0;
        }

        int total = (int)Math.Min(buffer.Length, _length - _position);
        int done = 0;
        while (done < total)
        {
            long pos = _position + done;
            int index = FindComponent(pos);
            long end = index + 1 < _components.Count ? _components[index + 1].Offset : _length;
            int n = (int)Math.Min(total - done, end - pos);
            Span<byte> dest = buffer.Slice(done, n);
            if (index < 0)
            {
                dest.Clear(); // before the first component
            }
            else
            {
                ReadComponent(index, pos - _components[index].Offset, dest);
            }

            done += n;
        }

        _position += total;
        return total;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<int>(cancellationToken);
        }

        try
        {
            return new ValueTask<int>(Read(buffer.Span));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            return ValueTask.FromException<int>(ex);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException("A composite disk stream is read-only.");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("A composite disk stream is read-only.");

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            foreach (SafeFileHandle? h in _handles)
            {
                h?.Dispose();
            }
        }

        base.Dispose(disposing);
    }

    /// <summary>The last component starting at or before <paramref name="pos"/>, or -1.</summary>
    private int FindComponent(long pos)
    {
        int lo = 0;
        int hi = _components.Count - 1;
        int found = -1;
        while (lo <= hi)
        {
            int mid = lo + ((hi - lo) >> 1);
            if (_components[mid].Offset <= pos)
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return found;
    }

    private void ReadComponent(int index, long offsetInComponent, Span<byte> dest)
    {
        SafeFileHandle? handle = GetHandle(index);
        int done = 0;
        if (handle is not null)
        {
            long fileOffset = _components[index].FileOffset + offsetInComponent;
            while (done < dest.Length)
            {
                int read = RandomAccess.Read(handle, dest[done..], fileOffset + done);
                if (read == 0)
                {
                    break;
                }

                done += read;
            }
        }

        dest[done..].Clear(); // short or missing file
    }

    private SafeFileHandle? GetHandle(int index)
    {
        if (!_opened[index])
        {
            try
            {
                _handles[index] = File.OpenHandle(_components[index].Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            }
            catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
            {
                _handles[index] = null;
            }

            _opened[index] = true;
        }

        return _handles[index];
    }
}
