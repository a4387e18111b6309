using Microsoft.Extensions.Logging;

namespace Virtualization.Core.Lifecycle;

/// <summary>
/// Delivers one VM's callbacks in order, one at a time, on the thread pool. Enqueueing is cheap and may happen under
/// the VM's lock; invoking never does. An exception from a callback is logged and delivery goes on.
/// </summary>
internal sealed class CallbackDispatcher
{
    private readonly Lock _gate = new();
    private readonly ILogger _logger;
    private Task _tail = Task.CompletedTask;

    internal CallbackDispatcher(ILogger logger)
    {
        _logger = logger;
    }

    /// <summary>Queues <paramref name="invoke"/> after everything queued before it.</summary>
    /// <param name="name">The callback's name, for the log if it throws.</param>
    /// <param name="invoke">The call.</param>
    /// <returns>Completes (never faults) once the call has returned.</returns>
    internal Task Enqueue(string name, Action invoke)
    {
        lock (_gate)
        {
            _tail = _tail.ContinueWith(
                static (_, state) => ((Delivery)state!).Run(),
                new Delivery(this, name, invoke),
                CancellationToken.None,
                TaskContinuationOptions.None,
                TaskScheduler.Default);
            return _tail;
        }
    }

    private sealed record Delivery(CallbackDispatcher Owner, string Name, Action Invoke)
    {
        internal void Run()
        {
            try
            {
                Invoke();
            }
#pragma warning disable CA1031 // A user callback may throw anything; it is logged and must not stop the others.
            catch (Exception e)
#pragma warning restore CA1031
            {
                Log.CallbackFailed(Owner._logger, Name, e);
            }
        }
    }
}
