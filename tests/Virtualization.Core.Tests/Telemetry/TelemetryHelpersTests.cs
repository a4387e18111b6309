using System.Diagnostics;
using System.Diagnostics.Metrics;
using Virtualization.Core.Lifecycle;

namespace Virtualization.Core.Tests.Telemetry;

/// <summary>
/// <see cref="VirtualizationTelemetry"/>'s helpers alone: the tags of a measurement, a span's tags, a failed span, and
/// the running-VM counter's observation, with names written out as docs/telemetry.md lists them.
/// </summary>
public sealed class TelemetryHelpersTests
{
    [Fact]
    public void Tags_AreTheVmmAndTheCidNamespace()
    {
        TagList tags = VirtualizationTelemetry.Tags("qemu", "ns1");

        tags.ToArray().Select(t => (t.Key, t.Value)).Should().Equal(
            ("virtualization.vmm", (object?)"qemu"), ("virtualization.cid_namespace", "ns1"));
    }

    [Fact]
    public void StartActivity_Listened_IsAnInternalSpanWithTheVmmAndTheCid()
    {
        using ActivityListener listener = Listen();

        using Activity? withCid = VirtualizationTelemetry.StartActivity("vct.test.cid", 17, "crosvm");
        using Activity? withoutCid = VirtualizationTelemetry.StartActivity("vct.test.nocid", null, "qemu");

        withCid!.OperationName.Should().Be("vct.test.cid");
        withCid.Kind.Should().Be(ActivityKind.Internal);
        withCid.Source.Name.Should().Be("Virtualization.Core");
        withCid.TagObjects.Select(t => (t.Key, t.Value)).Should().Equal(("virtualization.vmm", (object?)"crosvm"), ("virtualization.vm.cid", 17));
        withoutCid!.TagObjects.Select(t => (t.Key, t.Value)).Should().Equal(("virtualization.vmm", (object?)"qemu"));
    }

    [Fact]
    public void Fail_MarksTheSpanAnErrorWithTheMessageAndTheExceptionsType()
    {
        using ActivityListener listener = Listen();
        using Activity? activity = VirtualizationTelemetry.StartActivity("vct.test.fail", null, "qemu");

        VirtualizationTelemetry.Fail(activity, new TimeoutException("too slow"));

        activity!.Status.Should().Be(ActivityStatusCode.Error);
        activity.StatusDescription.Should().Be("too slow");
        activity.GetTagItem("error.type").Should().Be("System.TimeoutException");
    }

    [Fact]
    public void Fail_WithoutASpan_DoesNothing()
    {
        FluentActions.Invoking(() => VirtualizationTelemetry.Fail(null, new TimeoutException())).Should().NotThrow();
    }

    [Fact]
    public void Running_IsTheSumOfTheDeltas_PerVmmAndNamespace()
    {
        string ns = "t" + Guid.NewGuid().ToString("N");
        VirtualizationTelemetry.AddRunning("qemu", ns, 3);
        VirtualizationTelemetry.AddRunning("qemu", ns, -1);
        VirtualizationTelemetry.AddRunning("crosvm", ns, 5);

        var seen = new List<(long Value, string? Vmm, string? Namespace, int TagCount)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == "Virtualization.Core" && instrument.Name == "virtualization.vm.running")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            var list = tags.ToArray();
            string? vmm = list.FirstOrDefault(t => t.Key == "virtualization.vmm").Value as string;
            string? cidNamespace = list.FirstOrDefault(t => t.Key == "virtualization.cid_namespace").Value as string;
            if (cidNamespace == ns)
            {
                seen.Add((value, vmm, cidNamespace, list.Length));
            }
        });
        listener.Start();

        listener.RecordObservableInstruments();

        seen.OrderBy(s => s.Vmm, StringComparer.Ordinal).Should().Equal((5L, "crosvm", ns, 2), (2L, "qemu", ns, 2));
    }

    private static ActivityListener Listen()
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Virtualization.Core",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }
}
