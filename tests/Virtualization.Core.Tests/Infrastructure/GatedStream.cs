namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>
/// A console sink that consumes only as fast as the test lets it: each write waits for a permit from
/// <see cref="Allow"/>, then counts its bytes (a slow consumer whose pace the test controls exactly).
/// </summary>
internal sealed class GatedStream : WriteOnlyStream
{
    private readonly SemaphoreSlim _permits = new(0);
    private long _consumed;

    /// <summary>Bytes whose write completed.</summary>
    public long Consumed => Interlocked.Read(ref _consumed);

    /// <summary>Lets <paramref name="writes"/> more writes complete.</summary>
    public void Allow(int writes) => _permits.Release(writes);

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count).GetAwaiter().GetResult();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await _permits.WaitAsync(CancellationToken.None);
        Interlocked.Add(ref _consumed, buffer.Length);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _permits.Dispose();
        }

        base.Dispose(disposing);
    }
}
