using System.Diagnostics;
using Virtualization.Core.Lifecycle;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Telemetry;

/// <summary>
/// The meter and activity source named Virtualization.Core (docs/telemetry.md): counts, tags and spans as a VM goes
/// through its life. Measurements are filtered by the test's CID namespace and spans by the test's trace.
/// </summary>
public sealed class TelemetryTests
{
    [Fact(Timeout = 60_000)]
    public async Task Metrics_CreateStartKill_CountEachStepOnce_WithTheDeathReason()
    {
        await using var h = new TestHarness();
        using var metrics = new MetricRecorder(h.Options.CidNamespace);

        IVirtualMachine vm = await h.StartAsync();
        metrics.Observe();
        double runningWhileUp = metrics.Of("virtualization.vm.running").Last().Value;
        vm.Kill();
        await vm.WaitForDeathAsync();
        metrics.Observe();

        runningWhileUp.Should().Be(1);
        metrics.Of("virtualization.vm.running").Last().Value.Should().Be(0);
        metrics.Of("virtualization.vm.created").Select(m => m.Value).Should().Equal(1);
        metrics.Of("virtualization.vm.started").Select(m => m.Value).Should().Equal(1);
        MetricRecorder.Measurement died = metrics.Of("virtualization.vm.died").Should().ContainSingle().Subject;
        died.Value.Should().Be(1);
        died.Tags["virtualization.death_reason"].Should().Be("Killed");
        died.Tags["virtualization.vmm"].Should().Be("crosvm");
        MetricRecorder.Measurement start = metrics.Of("virtualization.vm.start.duration").Should().ContainSingle().Subject;
        start.Unit.Should().Be("s");
        start.Tags.Should().NotContainKey("error.type");
        start.Value.Should().BeGreaterThan(0);
    }

    [Fact(Timeout = 60_000)]
    public async Task Metrics_FailedStart_CountsStartFailedAndTagsTheDurationWithTheError()
    {
        await using var h = new TestHarness(o => o with { CrosvmPath = "/nonexistent/crosvm" });
        using var metrics = new MetricRecorder(h.Options.CidNamespace);
        IVirtualMachine vm = await h.CreateAsync();

        await vm.Invoking(v => v.StartAsync()).Should().ThrowAsync<VirtualMachineStartException>();
        await vm.WaitForDeathAsync();
        metrics.Observe();

        metrics.Of("virtualization.vm.started").Should().BeEmpty();
        metrics.Of("virtualization.vm.died").Should().ContainSingle().Which.Tags["virtualization.death_reason"].Should().Be("StartFailed");
        metrics.Of("virtualization.vm.start.duration").Should().ContainSingle()
            .Which.Tags["error.type"].Should().Be("Virtualization.Core.VirtualMachineStartException");
        metrics.Of("virtualization.vm.running").Should().BeEmpty("the VM never ran, so its service's VMM and namespace never had a running count");
    }

    [Fact(Timeout = 60_000)]
    public async Task Metrics_NeverStartedVm_DiesAsKilledAndIsNeverRunning()
    {
        await using var h = new TestHarness();
        using var metrics = new MetricRecorder(h.Options.CidNamespace);

        IVirtualMachine vm = await h.CreateAsync();
        await vm.DisposeAsync();

        metrics.Of("virtualization.vm.created").Select(m => m.Value).Should().Equal(1);
        metrics.Of("virtualization.vm.died").Should().ContainSingle().Which.Tags["virtualization.death_reason"].Should().Be("Killed");
        metrics.Of("virtualization.vm.start.duration").Should().BeEmpty();
    }

    [Fact(Timeout = 60_000)]
    public async Task Metrics_PayloadReady_RecordsOneDuration()
    {
        await using var h = new TestHarness();
        using var metrics = new MetricRecorder(h.Options.CidNamespace);
        var vm = (VmInstance)await h.StartAsync();

        vm.TryAdvancePayloadState(VirtualMachineState.Started).Should().BeTrue();
        metrics.Of("virtualization.vm.payload.ready.duration").Should().BeEmpty("only the ready report is timed");
        vm.TryAdvancePayloadState(VirtualMachineState.Ready).Should().BeTrue();

        MetricRecorder.Measurement ready = metrics.Of("virtualization.vm.payload.ready.duration").Should().ContainSingle().Subject;
        ready.Unit.Should().Be("s");
        ready.Value.Should().Be(vm.PayloadReadyAfter!.Value.TotalSeconds);
        await vm.StopAsync();
    }

    [Fact(Timeout = 60_000)]
    public async Task Traces_CreateStartStop_AreSpansWithTheCid()
    {
        await using var h = new TestHarness();
        using var traces = new ActivityRecorder();

        IVirtualMachine vm = await h.CreateAsync();
        await vm.StartAsync();
        h.TrackPid(vm);
        await vm.StopAsync();

        Activity[] spans = [.. traces.Stopped];
        spans.Select(a => a.OperationName).Should().Equal("virtualization.vm.create", "virtualization.vm.start", "virtualization.vm.stop");
        spans.Should().OnlyContain(a => (int?)a.GetTagItem("virtualization.vm.cid") == vm.Cid);
        spans.Should().OnlyContain(a => a.Status == ActivityStatusCode.Unset && (string?)a.GetTagItem("virtualization.vmm") == "crosvm");
        spans[2].GetTagItem("virtualization.death_reason").Should().Be(vm.DeathReason.ToString());
    }

    [Fact(Timeout = 60_000)]
    public async Task Traces_FailedStart_IsAnErrorSpan()
    {
        await using var h = new TestHarness(o => o with { CrosvmPath = "/nonexistent/crosvm" });
        using var traces = new ActivityRecorder();
        IVirtualMachine vm = await h.CreateAsync();

        await vm.Invoking(v => v.StartAsync()).Should().ThrowAsync<VirtualMachineStartException>();

        Activity start = traces.Stopped.Should().ContainSingle(a => a.OperationName == "virtualization.vm.start").Subject;
        start.Status.Should().Be(ActivityStatusCode.Error);
        start.GetTagItem("error.type").Should().Be("Virtualization.Core.VirtualMachineStartException");
        start.GetTagItem("virtualization.vm.cid").Should().Be(vm.Cid);
    }

    [Fact(Timeout = 60_000)]
    public async Task Logs_CarryTheCidInAScope_NotInTheMessage()
    {
        await using var h = new TestHarness();

        IVirtualMachine vm = await h.StartAsync();
        await vm.StopAsync();

        h.Log.Entries.Single(e => e.Message.StartsWith("The VM started: VMM process ", StringComparison.Ordinal)).Scope.Should().Be($"CID {vm.Cid}");
        h.Log.Entries.Single(e => e.Message.StartsWith("The VM died: ", StringComparison.Ordinal)).Scope.Should().Be($"CID {vm.Cid}");
        h.Log.Entries.Where(e => e.Scope == $"CID {vm.Cid}").Should().NotContain(e => e.Message.Contains($"CID {vm.Cid}", StringComparison.Ordinal));
    }
}
