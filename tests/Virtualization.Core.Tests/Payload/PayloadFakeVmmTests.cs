using System.Text;
using System.Text.Json;
using Virtualization.Core.Lifecycle;
using Virtualization.Core.Payload;
using Virtualization.Core.Tests.Infrastructure;
using static Virtualization.Core.Tests.Payload.PayloadTestStreams;

namespace Virtualization.Core.Tests.Payload;

/// <summary>
/// The whole host path with the fake crosvm playing the guest: it connects to the payload sockets like crosvm's
/// unix-stream virtio consoles and writes the frames a scenario gives it.
/// </summary>
public sealed class PayloadFakeVmmTests
{
    private static readonly PayloadChannelOptions NoWatchdog = new() { StartTimeout = Timeout.InfiniteTimeSpan };

    /// <summary>
    /// A fake guest that writes <paramref name="frames"/> as soon as it runs. By default it runs until stopped: a fake that
    /// exits on its own right after starting may be gone before the host saw it up (the fake removes its control socket
    /// on exit), which makes the start fail on a loaded machine.
    /// </summary>
    private static FakeScenario Guest(byte[] frames, int? runMs = null, int exit = 0) => new()
    {
        VirtioConsoleWrites = [(1, frames)],
        RunMs = runMs,
        Exit = runMs is null ? null : exit,
        ConsoleLines = 0,
    };

    private static async Task<(IVirtualMachine Vm, PayloadRecorder Recorder)> StartAsync(
        TestHarness h, FakeScenario scenario, PayloadChannelOptions? payload)
    {
        IVirtualMachine vm = await h.Service.CreateVmAsync(h.Config(scenario) with { PayloadChannel = payload });
        var recorder = new PayloadRecorder(vm);
        vm.RegisterCallback(recorder);
        await vm.StartAsync();
        h.TrackPid(vm);
        return (vm, recorder);
    }

    [Fact(Timeout = 30_000)]
    public async Task Reports_BecomeStatesAndCallbacksInOrder_BeforeOnDied()
    {
        await using var h = new TestHarness();
        (IVirtualMachine vm, PayloadRecorder recorder) = await StartAsync(
            h, Guest(Concat(ControlHello, PayloadWire.Started(), PayloadWire.Ready(), PayloadWire.Finished(3))), NoWatchdog);

        (await vm.WaitForStateAsync(VirtualMachineState.Ready)).Should().BeOneOf(VirtualMachineState.Ready, VirtualMachineState.Finished);
        (await vm.WaitForStateAsync(VirtualMachineState.Finished)).Should().Be(VirtualMachineState.Finished);
        await vm.StopAsync();
        vm.DeathReason.Should().Be(DeathReason.Shutdown);

        recorder.Events.Should().Equal("payload-started", "payload-ready", "payload-finished:3", "died:Shutdown");
        recorder.StatesSeen.Should().BeInAscendingOrder("the state never moves backward");
        var instance = (VmInstance)vm;
        instance.PayloadStartedAfter.Should().BeGreaterThanOrEqualTo(TimeSpan.Zero, "Started was reached, so its time is recorded");
        instance.PayloadReadyAfter.Should().BeGreaterThanOrEqualTo(instance.PayloadStartedAfter!.Value);
    }

    [Fact(Timeout = 30_000)]
    public async Task FinishedWrittenRightBeforeTheVmmExits_IsStillDeliveredBeforeOnDied()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.Service.CreateVmAsync(
            h.Config(Guest(Concat(ControlHello, PayloadWire.Started(), PayloadWire.Finished(9)), runMs: 0)) with { PayloadChannel = NoWatchdog });
        var recorder = new PayloadRecorder(vm);
        vm.RegisterCallback(recorder);
        try
        {
            await vm.StartAsync();
            h.TrackPid(vm);
        }
        catch (VirtualMachineStartException)
        {
            // The fake exits at once: it may be gone before the host saw it up. The reports must arrive either way.
        }

        DeathReason reason = await vm.WaitForDeathAsync();

        reason.Should().BeOneOf(DeathReason.Shutdown, DeathReason.StartFailed);
        recorder.Events.Should().Equal("payload-started", "payload-finished:9", $"died:{reason}");
    }

    [Fact(Timeout = 30_000)]
    public async Task ErrorReport_EndsThePayload_WithOnErrorOnly()
    {
        await using var h = new TestHarness();
        (IVirtualMachine vm, PayloadRecorder recorder) = await StartAsync(
            h, Guest(Concat(ControlHello, PayloadWire.Error(PayloadErrorCodes.PayloadNotFound, "cannot execute /x"), PayloadWire.Ready(), PayloadWire.Finished(0))), NoWatchdog);

        (await vm.WaitForStateAsync(VirtualMachineState.Started)).Should().Be(VirtualMachineState.Finished, "a skipped state counts as passed");
        await recorder.WaitForAsync("error:");
        vm.Kill();
        await vm.WaitForDeathAsync();

        recorder.Events.Should().Equal("error:2:cannot execute /x", "died:Killed");
        h.Log.Entries.Should().Contain(e => e.Message.Contains("ready ignored: the payload is already Finished", StringComparison.Ordinal));
    }

    [Fact(Timeout = 30_000)]
    public async Task Watchdog_PayloadThatNeverStarts_IsKilledWithHangup()
    {
        await using var h = new TestHarness();
        (IVirtualMachine vm, PayloadRecorder recorder) = await StartAsync(
            h, Guest(ControlHello), new PayloadChannelOptions { StartTimeout = TimeSpan.FromMilliseconds(300) });

        Func<Task> ready = () => vm.WaitForStateAsync(VirtualMachineState.Ready);

        (await ready.Should().ThrowAsync<VirtualMachineDiedException>())
            .Which.Should().BeEquivalentTo(new { Reason = DeathReason.Hangup, AwaitedState = VirtualMachineState.Ready, ReachedState = VirtualMachineState.Starting, vm.Cid });
        (await vm.WaitForDeathAsync()).Should().Be(DeathReason.Hangup);
        recorder.Events.Should().Equal("died:Hangup");
        h.Log.Entries.Should().Contain(e => e.Message.Contains("(PayloadStartTimeout); killing the VM (DeathReason.Hangup)", StringComparison.Ordinal));
    }

    [Fact(Timeout = 30_000)]
    public async Task Watchdog_ServiceDefault_PerVmInfiniteOverride_AndStartedInTime()
    {
        await using var h = new TestHarness(o => o with { PayloadStartTimeout = TimeSpan.FromSeconds(1) });
        (IVirtualMachine exempt, _) = await StartAsync(h, Guest(ControlHello), NoWatchdog);
        (IVirtualMachine started, _) = await StartAsync(h, Guest(Concat(ControlHello, PayloadWire.Started())), new PayloadChannelOptions());
        (IVirtualMachine hung, _) = await StartAsync(h, Guest(ControlHello), new PayloadChannelOptions());

        (await hung.WaitForDeathAsync()).Should().Be(DeathReason.Hangup, "the service's 1 s applies");

        // The hung VM was started last, so the others have had at least the timeout as well.
        exempt.State.Should().Be(VirtualMachineState.Starting, "Timeout.InfiniteTimeSpan turns the watchdog off");
        started.State.Should().Be(VirtualMachineState.Started, "a payload that started is not a hang");
        await exempt.StopAsync();
        await started.StopAsync();
        exempt.DeathReason.Should().Be(DeathReason.Shutdown);
        started.DeathReason.Should().Be(DeathReason.Shutdown);
    }

    [Fact(Timeout = 30_000)]
    public async Task WithoutOptIn_VmStaysStarting_HasNoPortsAndNoWatchdog()
    {
        await using var h = new TestHarness(o => o with { PayloadStartTimeout = TimeSpan.FromMilliseconds(100) });
        string record = Path.Combine(h.Root, "argv.json");
        (IVirtualMachine plain, PayloadRecorder recorder) = await StartAsync(h, new FakeScenario { Record = record }, payload: null);
        (IVirtualMachine hung, _) = await StartAsync(h, Guest(ControlHello), new PayloadChannelOptions());

        await hung.WaitForDeathAsync();

        plain.State.Should().Be(VirtualMachineState.Starting);
        string[] argv = JsonSerializer.Deserialize<string[]>(await File.ReadAllTextAsync(record))!;
        argv.Should().NotContain(a => a.Contains("virtio-console", StringComparison.Ordinal));
        Directory.GetFiles(((VmInstance)plain).TemporaryDirectory).Should().NotContain(f => f.Contains("payload", StringComparison.Ordinal));
        await plain.StopAsync();
        recorder.Events.Should().Equal("died:Shutdown");
    }

    [Fact(Timeout = 30_000)]
    public async Task CrosvmArgv_HasOneVirtioConsolePerPort_AcceptedAndConnectedByTheFake()
    {
        await using var h = new TestHarness();
        string record = Path.Combine(h.Root, "argv.json");
        (IVirtualMachine vm, PayloadRecorder recorder) = await StartAsync(
            h,
            Guest(Concat(ControlHello, PayloadWire.Started())) with { Record = record, VirtioConsoleEchoes = [2] },
            NoWatchdog with { Stdio = true });
        await recorder.WaitForAsync("payload-started");

        string folder = ((VmInstance)vm).TemporaryDirectory;
        string[] argv = JsonSerializer.Deserialize<string[]>(await File.ReadAllTextAsync(record))!;
        argv.Should().ContainInConsecutiveOrder("--serial", $"type=unix-stream,hardware=virtio-console,num=1,path={folder}/payload.sock");
        argv.Should().ContainInConsecutiveOrder("--serial", $"type=unix-stream,hardware=virtio-console,num=2,path={folder}/payload-stdio.sock,input-unix-stream=true");
        argv[^1].Should().StartWith(h.Root, "the kernel stays last");
        await vm.StopAsync();
    }

    [Fact(Timeout = 30_000)]
    public async Task Stdio_FirstCallbackOwnsTheStream_OthersGetNull()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.Service.CreateVmAsync(
            h.Config(Guest(Concat(ControlHello, PayloadWire.Started())) with { VirtioConsoleEchoes = [2] })
                with { PayloadChannel = NoWatchdog with { Stdio = true } });
        var unregistered = new PayloadRecorder(vm);
        var first = new PayloadRecorder(vm);
        var second = new PayloadRecorder(vm);
        vm.RegisterCallback(unregistered).Dispose();
        vm.RegisterCallback(first);
        vm.RegisterCallback(second);
        await vm.StartAsync();
        h.TrackPid(vm);

        Stream? stream = await first.Started;
        (await second.Started).Should().BeNull();
        stream.Should().Match<Stream>(s => s.CanRead && s.CanWrite, "the first active registration owns the payload's stdio, both ways");
        await using (stream)
        {
            await stream!.WriteAsync("ping\n"u8.ToArray());
            byte[] echo = new byte[5];
            await stream.ReadExactlyAsync(echo);
            Encoding.ASCII.GetString(echo).Should().Be("ping\n");
        }

        await vm.StopAsync();
        unregistered.Events.Should().BeEmpty();
        second.Events.Should().Equal("payload-started", "died:Shutdown");
    }

    [Fact(Timeout = 30_000)]
    public async Task BadInput_ClosesOnlyThatVmsChannel_TheVmKeepsRunning_AndTheOtherVmIsUntouched()
    {
        await using var h = new TestHarness();
        byte[] garbage = Concat(ControlHello, PayloadWire.Started(), [0xFF, 0x00, 0xFF, 0xFF], PayloadWire.Ready());
        (IVirtualMachine bad, PayloadRecorder badEvents) = await StartAsync(h, Guest(garbage), NoWatchdog);
        (IVirtualMachine good, PayloadRecorder goodEvents) = await StartAsync(
            h, Guest(Concat(ControlHello, PayloadWire.Started(), PayloadWire.Ready(), PayloadWire.Finished(4))), NoWatchdog);

        await badEvents.WaitForAsync("payload-started");
        await goodEvents.WaitForAsync("payload-finished");
        (await bad.WaitForStateAsync(VirtualMachineState.Started)).Should().Be(VirtualMachineState.Started);

        bad.State.Should().Be(VirtualMachineState.Started, "the frames after the oversize header are never read");
        good.State.Should().Be(VirtualMachineState.Finished);
        h.Log.Entries.Should().Contain(e => e.Message.Contains("Closed the payload channel", StringComparison.Ordinal) && e.Scope == $"CID {bad.Cid}"
            && e.Message.Contains("announces 65535 body bytes", StringComparison.Ordinal));
        h.Log.Entries.Should().NotContain(e => e.Message.Contains("Closed the payload channel", StringComparison.Ordinal) && e.Scope == $"CID {good.Cid}");
        await bad.StopAsync();
        await good.StopAsync();
        bad.DeathReason.Should().Be(DeathReason.Shutdown, "a refused channel does not hurt the VM");
        badEvents.Events.Should().Equal("payload-started", "died:Shutdown");
        goodEvents.Events.Should().Equal("payload-started", "payload-ready", "payload-finished:4", "died:Shutdown");
    }

    [Fact(Timeout = 30_000)]
    public async Task CrosvmWithoutListener_IsAStartFailure_NotAHang()
    {
        // Sanity check of the fake's crosvm behaviour the transport relies on: unix-stream ports connect at startup.
        await using var h = new TestHarness();
        string folder = Path.Combine(h.Root, "elsewhere");
        Directory.CreateDirectory(folder);
        var options = new PayloadChannelOptions();
        var request = new Virtualization.Core.Vmm.VmmLaunchRequest(
            99, h.Config() with { PayloadChannel = options }, [], folder, null, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        List<string> argv = Virtualization.Core.Crosvm.CrosvmCommandLine.Build(request, consoleToStdout: false);

        // Bounded and killed on timeout: a fake that wrongly runs on must not outlive the test.
        (int exitCode, _, string stderr) = await TestProcess.RunAsync(TestPaths.FakeCrosvm, [.. argv]);

        exitCode.Should().Be(1);
        stderr.Should().Contain("Failed to connect to socket");
    }
}
