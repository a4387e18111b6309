namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>A console sink whose every write throws an <see cref="IOException"/> (a broken consumer); counts the attempts.</summary>
internal sealed class ThrowingStream : WriteOnlyStream
{
    private readonly TaskCompletionSource _firstWrite = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _writes;

    /// <summary>Completes when the library first tried to write.</summary>
    public Task FirstWrite => _firstWrite.Task;

    /// <summary>How many writes were attempted.</summary>
    public int Writes => Volatile.Read(ref _writes);

    public override void Write(byte[] buffer, int offset, int count)
    {
        Interlocked.Increment(ref _writes);
        _firstWrite.TrySetResult();
        throw new IOException("the console sink is broken (test)");
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _writes);
        _firstWrite.TrySetResult();
        return ValueTask.FromException(new IOException("the console sink is broken (test)"));
    }
}
