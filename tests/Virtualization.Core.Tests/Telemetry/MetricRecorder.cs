using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Virtualization.Core.Tests.Telemetry;

/// <summary>
/// Listens to the <c>Virtualization.Core</c> meter and keeps the measurements of one CID namespace (one test's service),
/// so that tests running in parallel do not see each other's counts.
/// </summary>
internal sealed class MetricRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly string _cidNamespace;

    public MetricRecorder(string cidNamespace)
    {
        _cidNamespace = cidNamespace;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Virtualization.Core")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.Start();
    }

    public ConcurrentQueue<Measurement> Measurements { get; } = new();

    /// <summary>The measurements of <paramref name="instrument"/>, in order.</summary>
    public Measurement[] Of(string instrument) => [.. Measurements.Where(m => m.Instrument == instrument)];

    /// <summary>Polls the observable instruments (<c>virtualization.vm.running</c>).</summary>
    public void Observe() => _listener.RecordObservableInstruments();

    public void Dispose() => _listener.Dispose();

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var copy = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (KeyValuePair<string, object?> tag in tags)
        {
            copy[tag.Key] = tag.Value;
        }

        if (copy.TryGetValue("virtualization.cid_namespace", out object? ns) && (string?)ns == _cidNamespace)
        {
            Measurements.Enqueue(new Measurement(instrument.Name, instrument.Unit, value, copy));
        }
    }

    /// <summary>One measurement with its tags.</summary>
    internal sealed record Measurement(string Instrument, string? Unit, double Value, IReadOnlyDictionary<string, object?> Tags);
}
