namespace Virtualization.Core.Tests.Drive;

/// <summary>Console input sources that misbehave: one whose reads never complete (ignoring cancellation), one that throws.</summary>
internal sealed class MisbehavingSource(bool throwOnRead) : Stream
{
    private readonly TaskCompletionSource _firstRead = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the library first tried to read.</summary>
    public Task FirstRead => _firstRead.Task;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("async only");

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        _firstRead.TrySetResult();
        if (throwOnRead)
        {
            throw new IOException("the console input source is broken");
        }

        await Task.Delay(Timeout.Infinite, CancellationToken.None); // a read that ignores cancellation
        return 0;
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
