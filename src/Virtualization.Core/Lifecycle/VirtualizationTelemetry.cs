using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace Virtualization.Core.Lifecycle;

/// <summary>
/// The library's <see cref="Meter"/> and <see cref="ActivitySource"/>, both named <c>Virtualization.Core</c>
/// (instruments and spans are listed in docs/telemetry.md). Measurements carry low-cardinality tags only
/// (<c>virtualization.vmm</c>, <c>virtualization.cid_namespace</c>, <c>virtualization.death_reason</c>, <c>error.type</c>);
/// spans carry the CID.
/// </summary>
internal static class VirtualizationTelemetry
{
    /// <summary>The name of the meter and of the activity source.</summary>
    internal const string Name = "Virtualization.Core";

    internal const string VmmTag = "virtualization.vmm";
    internal const string CidNamespaceTag = "virtualization.cid_namespace";
    internal const string DeathReasonTag = "virtualization.death_reason";
    internal const string CidTag = "virtualization.vm.cid";
    internal const string ErrorTypeTag = "error.type";

    private static readonly string? s_version = typeof(VirtualizationTelemetry).Assembly.GetName().Version?.ToString();

    // Running VMs per (VMM, namespace), for the observable up-down counter.
    private static readonly ConcurrentDictionary<(string Vmm, string Namespace), StrongBox<long>> s_running = new();

    internal static readonly ActivitySource ActivitySource = new(Name, s_version);

    internal static readonly Meter Meter = new(Name, s_version);

    internal static readonly Counter<long> Created = Meter.CreateCounter<long>(
        "virtualization.vm.created", "{vm}", "VMs created (CreateVmAsync succeeded).");

    internal static readonly Counter<long> Started = Meter.CreateCounter<long>(
        "virtualization.vm.started", "{vm}", "VMs whose VMM came up (StartAsync succeeded).");

    internal static readonly Counter<long> Died = Meter.CreateCounter<long>(
        "virtualization.vm.died", "{vm}", "VMs that died, by virtualization.death_reason (includes failed starts and VMs never started).");

    internal static readonly Histogram<double> StartDuration = Meter.CreateHistogram<double>(
        "virtualization.vm.start.duration", "s", "Time StartAsync took; failed starts carry error.type.");

    internal static readonly Histogram<double> PayloadReadyDuration = Meter.CreateHistogram<double>(
        "virtualization.vm.payload.ready.duration", "s", "Time from the start of StartAsync to the payload's ready report.");

    internal static readonly ObservableUpDownCounter<long> Running = Meter.CreateObservableUpDownCounter(
        "virtualization.vm.running", ObserveRunning, "{vm}", "VMs whose VMM is up and has not died yet.");

    /// <summary>The tags every measurement of a service carries.</summary>
    internal static TagList Tags(string vmm, string cidNamespace) => new()
    {
        { VmmTag, vmm },
        { CidNamespaceTag, cidNamespace },
    };

    /// <summary>Counts a VM as running (once its VMM is up).</summary>
    internal static void AddRunning(string vmm, string cidNamespace, long delta) =>
        Interlocked.Add(ref s_running.GetOrAdd((vmm, cidNamespace), static _ => new StrongBox<long>()).Value, delta);

    /// <summary>Starts a span, or returns null when nobody listens.</summary>
    internal static Activity? StartActivity(string name, int? cid, string vmm)
    {
        Activity? activity = ActivitySource.StartActivity(name, ActivityKind.Internal);
        if (activity is not null)
        {
            activity.SetTag(VmmTag, vmm);
            if (cid is { } value)
            {
                activity.SetTag(CidTag, value);
            }
        }

        return activity;
    }

    /// <summary>Marks <paramref name="activity"/> failed with <paramref name="exception"/> (OpenTelemetry's conventions).</summary>
    internal static void Fail(Activity? activity, Exception exception)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetStatus(ActivityStatusCode.Error, exception.Message);
        activity.SetTag(ErrorTypeTag, exception.GetType().FullName);
    }

    private static IEnumerable<Measurement<long>> ObserveRunning()
    {
        foreach (KeyValuePair<(string Vmm, string Namespace), StrongBox<long>> entry in s_running)
        {
            yield return new Measurement<long>(
                Interlocked.Read(ref entry.Value.Value),
                new KeyValuePair<string, object?>(VmmTag, entry.Key.Vmm),
                new KeyValuePair<string, object?>(CidNamespaceTag, entry.Key.Namespace));
        }
    }
}
