using System.Collections.Concurrent;

namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>Records every event it gets, and lets a test wait for OnDied.</summary>
internal sealed class RecordingCallback : IVirtualMachineCallback
{
    private readonly TaskCompletionSource<DeathReason> _died = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ConcurrentQueue<string> Events { get; } = new();

    public Task<DeathReason> Died => _died.Task;

    public Action? OnDiedAction { get; init; }

    public Action? OnPayloadReadyAction { get; init; }

    public void OnDied(int cid, DeathReason reason)
    {
        Events.Enqueue($"died:{reason}");
        OnDiedAction?.Invoke();
        _died.TrySetResult(reason);
    }

    public void OnError(int cid, int errorCode, string message) => Events.Enqueue($"error:{errorCode}:{message}");

    public void OnPayloadStarted(int cid, Stream? stream) => Events.Enqueue("payload-started");

    public void OnPayloadReady(int cid)
    {
        Events.Enqueue("payload-ready");
        OnPayloadReadyAction?.Invoke();
    }

    public void OnPayloadFinished(int cid, int exitCode) => Events.Enqueue($"payload-finished:{exitCode}");
}
