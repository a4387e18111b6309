using System.Collections.Concurrent;

namespace Virtualization.Core.Tests.Payload;

/// <summary>
/// Records a VM's events with the VM's state read inside each callback (so a test can check that the state never went
/// backward), keeps the stdio stream it was given, and lets a test wait for any event.
/// </summary>
internal sealed class PayloadRecorder(IVirtualMachine vm) : IVirtualMachineCallback
{
    private readonly Lock _gate = new();
    private readonly List<(string Marker, TaskCompletionSource Seen)> _waits = [];
    private readonly TaskCompletionSource<Stream?> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ConcurrentQueue<string> Events { get; } = new();

    public ConcurrentQueue<VirtualMachineState> StatesSeen { get; } = new();

    /// <summary>The stream <see cref="OnPayloadStarted"/> got (null if none).</summary>
    public Task<Stream?> Started => _started.Task;

    /// <summary>Completes when an event starting with <paramref name="prefix"/> was recorded.</summary>
    public Task WaitForAsync(string prefix)
    {
        lock (_gate)
        {
            if (Events.Any(e => e.StartsWith(prefix, StringComparison.Ordinal)))
            {
                return Task.CompletedTask;
            }

            var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waits.Add((prefix, seen));
            return seen.Task;
        }
    }

    public void OnPayloadStarted(int cid, Stream? stream)
    {
        Record("payload-started" + (stream is null ? string.Empty : ":stdio"));
        _started.TrySetResult(stream);
    }

    public void OnPayloadReady(int cid) => Record("payload-ready");

    public void OnPayloadFinished(int cid, int exitCode) => Record($"payload-finished:{exitCode}");

    public void OnError(int cid, int errorCode, string message) => Record($"error:{errorCode}:{message ?? "(null)"}"); // null would read as ""

    public void OnDied(int cid, DeathReason reason)
    {
        Record($"died:{reason}");
        _started.TrySetResult(null);
    }

    private void Record(string text)
    {
        StatesSeen.Enqueue(vm.State);
        lock (_gate)
        {
            Events.Enqueue(text);
            _waits.RemoveAll(w =>
            {
                if (!text.StartsWith(w.Marker, StringComparison.Ordinal))
                {
                    return false;
                }

                w.Seen.TrySetResult();
                return true;
            });
        }
    }
}
