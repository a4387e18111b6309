namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>A console sink that takes everything at once and keeps only the number of bytes.</summary>
internal sealed class CountingStream : WriteOnlyStream
{
    private long _count;

    /// <summary>Bytes written so far.</summary>
    public long Count => Interlocked.Read(ref _count);

    public override void Write(byte[] buffer, int offset, int count) => Interlocked.Add(ref _count, count);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Interlocked.Add(ref _count, buffer.Length);
        return ValueTask.CompletedTask;
    }
}
