using System.Collections.Concurrent;
using System.Diagnostics;

namespace Virtualization.Core.Tests.Telemetry;

/// <summary>
/// Listens to the <c>Virtualization.Core</c> activity source and keeps the finished spans of this test's trace: the
/// recorder starts a root activity, and only spans under it (same trace id) are kept, whatever other tests do.
/// </summary>
internal sealed class ActivityRecorder : IDisposable
{
    private readonly ActivityListener _listener;
    private readonly Activity _root;

    public ActivityRecorder()
    {
        _root = new Activity("test-root").Start();
        ActivityTraceId trace = _root.TraceId;
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Virtualization.Core",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (activity.TraceId == trace)
                {
                    Stopped.Enqueue(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(_listener);
    }

    /// <summary>The spans of this test's trace, in the order they ended.</summary>
    public ConcurrentQueue<Activity> Stopped { get; } = new();

    public void Dispose()
    {
        _root.Stop();
        _listener.Dispose();
    }
}
