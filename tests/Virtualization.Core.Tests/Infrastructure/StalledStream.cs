namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>A console sink whose first write never completes (a consumer that stopped reading).</summary>
internal sealed class StalledStream : WriteOnlyStream
{
    private readonly TaskCompletionSource _firstWrite = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the library first tried to write.</summary>
    public Task FirstWrite => _firstWrite.Task;

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count).GetAwaiter().GetResult();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        _firstWrite.TrySetResult();
        await Task.Delay(Timeout.Infinite, CancellationToken.None);
    }
}
