using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Drive;

/// <summary>A console input source whose reads never complete, ignoring cancellation (a stalled stdin).</summary>
internal sealed class StalledSource : ReadOnlyStream
{
    private readonly TaskCompletionSource _firstRead = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the library first tried to read.</summary>
    public Task FirstRead => _firstRead.Task;

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("async only");

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        _firstRead.TrySetResult();
        await Task.Delay(Timeout.Infinite, CancellationToken.None); // a read that ignores cancellation
        return 0;
    }
}
