using System.Diagnostics.Metrics;
using Virtualization.Core.Lifecycle;

namespace Virtualization.Core.Tests.Telemetry;

/// <summary>
/// The instruments the <c>Virtualization.Core</c> meter publishes, as documented in docs/telemetry.md: name, unit and
/// description are what dashboards and exporters key on, so each is pinned here.
/// </summary>
public sealed class TelemetryInstrumentTests
{
    [Fact]
    public void Meter_PublishesExactlyTheDocumentedInstruments()
    {
        // Touching the meter runs the class's initializers, which create every instrument.
        VirtualizationTelemetry.Meter.Name.Should().Be("Virtualization.Core");
        var published = new List<(string Meter, string Type, string Name, string? Unit, string? Description)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Meter.Name == "Virtualization.Core")
                {
                    lock (published)
                    {
                        published.Add((instrument.Meter.Name, instrument.GetType().Name, instrument.Name, instrument.Unit, instrument.Description));
                    }
                }
            },
        };

        listener.Start(); // reports the instruments that already exist

        lock (published)
        {
            published.OrderBy(i => i.Name, StringComparer.Ordinal).Should().Equal(
                ("Virtualization.Core", "Counter`1", "virtualization.vm.created", "{vm}", "VMs created (CreateVmAsync succeeded)."),
                ("Virtualization.Core", "Counter`1", "virtualization.vm.died", "{vm}",
                    "VMs that died, by virtualization.death_reason (includes failed starts and VMs never started)."),
                ("Virtualization.Core", "Histogram`1", "virtualization.vm.payload.ready.duration", "s",
                    "Time from the start of StartAsync to the payload's ready report."),
                ("Virtualization.Core", "ObservableUpDownCounter`1", "virtualization.vm.running", "{vm}", "VMs whose VMM is up and has not died yet."),
                ("Virtualization.Core", "Histogram`1", "virtualization.vm.start.duration", "s", "Time StartAsync took; failed starts carry error.type."),
                ("Virtualization.Core", "Counter`1", "virtualization.vm.started", "{vm}", "VMs whose VMM came up (StartAsync succeeded)."));
        }
    }
}
