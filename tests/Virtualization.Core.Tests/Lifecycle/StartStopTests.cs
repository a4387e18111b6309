using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Lifecycle;

public sealed class StartStopTests
{
    [Fact(Timeout = 30_000)]
    public async Task StartAsync_RunsVmm_ConsoleReachesStreamAndStopShutsDown()
    {
        await using var h = new TestHarness();
        var console = new ConsoleCapture();
        IVirtualMachine vm = await h.CreateAsync(new FakeScenario { ConsoleLines = 3 }, console);
        var callback = new RecordingCallback();
        vm.RegisterCallback(callback);

        await vm.StartAsync();
        h.TrackPid(vm);

        vm.State.Should().Be(VirtualMachineState.Starting);
        h.ProcessIdOf(vm).Should().BePositive();
        await console.WaitForAsync("fake guest console line 3");
        string folder = h.Service.DebugListVms()[0].TemporaryDirectory;
        File.Exists(Path.Combine(folder, "crosvm.sock")).Should().BeTrue("crosvm's control socket lives in the VM folder");

        await vm.StopAsync();

        vm.State.Should().Be(VirtualMachineState.Dead);
        vm.DeathReason.Should().Be(DeathReason.Shutdown);
        (await callback.Died).Should().Be(DeathReason.Shutdown);
        callback.Events.Should().Equal("died:Shutdown");
        Directory.Exists(folder).Should().BeFalse();
        console.Text.Should().Contain("fake guest console line 1").And.Contain("fake guest console line 3");
    }

    [Theory(Timeout = 30_000)]
    [InlineData(0, DeathReason.Shutdown)]
    [InlineData(32, DeathReason.Reboot)]
    [InlineData(33, DeathReason.Crash)]
    [InlineData(34, DeathReason.GuestPanic)]
    [InlineData(36, DeathReason.Watchdog)]
    [InlineData(1, DeathReason.Error)]
    [InlineData(7, DeathReason.Error)]
    public async Task VmmExit_MapsExitCodeToDeathReason(int exitCode, DeathReason expected)
    {
        // The VMM exits on the test's cue once the VM is up. A timed exit raced the readiness probe: on a loaded
        // machine, code 1 or 7 before the probe saw the VM up is (rightly) a start failure.
        await using var h = TestHarness.OverStub();
        IVirtualMachine vm = await h.StartStubAsync(new StubScenario());
        var callback = new RecordingCallback();
        vm.RegisterCallback(callback);

        StubControl.Send(StubControl.SocketOf(h.Service, vm)!, $"exit {exitCode}").Should().NotBeNull("the stub VMM is up and takes the cue");

        (await vm.WaitForDeathAsync()).Should().Be(expected);
        (await callback.Died).Should().Be(expected);
        vm.State.Should().Be(VirtualMachineState.Dead);
    }

    [Fact(Timeout = 30_000)]
    public async Task VmmKilledBySignalItDidNotGetFromUs_IsError()
    {
        await using var h = TestHarness.OverStub();
        IVirtualMachine vm = await h.StartStubAsync(new StubScenario());

        StubControl.Send(StubControl.SocketOf(h.Service, vm)!, "signal 11").Should().NotBeNull("the stub VMM is up and takes the cue");

        (await vm.WaitForDeathAsync()).Should().Be(DeathReason.Error);
    }

    [Fact(Timeout = 30_000)]
    public async Task StartAsync_VmmFailsAtStart_ThrowsWithExitCodeAndStderrAndCleansUp()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.CreateAsync(new FakeScenario { FailAtStart = 1 });
        var callback = new RecordingCallback();
        vm.RegisterCallback(callback);
        string folder = h.Service.DebugListVms()[0].TemporaryDirectory;

        Func<Task> start = () => vm.StartAsync();

        var e = (await start.Should().ThrowAsync<VirtualMachineStartException>()).Which;
        e.ExitCode.Should().Be(1);
        e.StandardErrorTail.Should().Contain("failed to start");
        e.Message.Should().Contain("exited with code 1").And.Contain("failed to start").And.Contain("create a new VM");
        vm.State.Should().Be(VirtualMachineState.Dead);
        vm.DeathReason.Should().Be(DeathReason.StartFailed);
        (await callback.Died).Should().Be(DeathReason.StartFailed);
        Directory.Exists(folder).Should().BeFalse();
        h.Service.HeldCidCount.Should().Be(0);
    }

    [Fact(Timeout = 30_000)]
    public async Task StartAsync_VmmMissing_ThrowsClearErrorAndVmIsDead()
    {
        await using var h = new TestHarness(o => o with { CrosvmPath = "/nonexistent/crosvm" });
        IVirtualMachine vm = await h.CreateAsync();

        Func<Task> start = () => vm.StartAsync();

        var e = (await start.Should().ThrowAsync<VirtualMachineStartException>()).Which;
        e.ExitCode.Should().BeNull();
        e.Message.Should().Contain("/nonexistent/crosvm").And.Contain("does not exist");
        vm.DeathReason.Should().Be(DeathReason.StartFailed);
        h.Service.HeldCidCount.Should().Be(0);
    }

    [Fact(Timeout = 30_000)]
    public async Task StartAsync_VmmNeverComesUp_TimesOutAndKillsIt()
    {
        await using var h = new TestHarness(o => o with { StartTimeout = TimeSpan.FromMilliseconds(500) });
        IVirtualMachine vm = await h.CreateAsync(new FakeScenario { NoSocket = true });

        Func<Task> start = () => vm.StartAsync();

        var e = (await start.Should().ThrowAsync<VirtualMachineStartException>()).Which;
        e.Message.Should().Contain("did not come up within 0.5 s");
        vm.DeathReason.Should().Be(DeathReason.StartFailed);
    }

    [Fact(Timeout = 30_000)]
    public async Task StartAsync_Twice_SecondThrows()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.StartAsync();

        Func<Task> again = () => vm.StartAsync();

        (await again.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain("already started");
        vm.State.Should().Be(VirtualMachineState.Starting);
    }

    [Fact(Timeout = 30_000)]
    public async Task StartAsync_Concurrent_ExactlyOneStarts()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.CreateAsync();

        Task[] starts = [.. Enumerable.Range(0, 8).Select(_ => Task.Run(() => vm.StartAsync()))];
        await Task.WhenAll(starts).ContinueWith(_ => { }, TaskScheduler.Default);
        h.TrackPid(vm);

        starts.Count(t => t.IsCompletedSuccessfully).Should().Be(1);
        starts.Where(t => t.IsFaulted).Select(t => t.Exception!.InnerException).Should().AllBeOfType<InvalidOperationException>().And.HaveCount(7);
        vm.State.Should().Be(VirtualMachineState.Starting);
    }

    [Fact(Timeout = 30_000)]
    public async Task StartAsync_AfterDeath_Throws()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.CreateAsync();
        vm.Kill();
        (await vm.WaitForDeathAsync()).Should().Be(DeathReason.Killed);

        Func<Task> start = () => vm.StartAsync();

        (await start.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain("dead");
    }

    [Fact(Timeout = 30_000)]
    public async Task Kill_Running_KillsVmmAndReportsKilled()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.StartAsync();
        int pid = h.ProcessIdOf(vm)!.Value;
        var callback = new RecordingCallback();
        vm.RegisterCallback(callback);

        vm.Kill();
        vm.Kill();

        (await vm.WaitForDeathAsync()).Should().Be(DeathReason.Killed);
        (await callback.Died).Should().Be(DeathReason.Killed);
        callback.Events.Should().Equal("died:Killed");
        ProcessProbe.IsAlive(pid).Should().BeFalse();
    }

    [Fact(Timeout = 30_000)]
    public async Task Kill_VmmWithChildren_KillsWholeProcessGroup()
    {
        await using var h = new TestHarness();
        string pidFile = Path.Combine(h.Root, "pid");
        IVirtualMachine vm = await h.StartAsync(new FakeScenario { SpawnChild = true, PidFile = pidFile });
        int pid = h.ProcessIdOf(vm)!.Value;
        (await ProcessProbe.WaitUntilAsync(() => ProcessProbe.InSession(pid).Count >= 3, TimeSpan.FromSeconds(10)))
            .Should().BeTrue("vcore-exec, the fake and its child run in a session of their own");

        vm.Kill();
        await vm.WaitForDeathAsync();

        (await ProcessProbe.WaitUntilAsync(() => ProcessProbe.InSession(pid).Count == 0, TimeSpan.FromSeconds(10)))
            .Should().BeTrue("the VMM's children are SIGKILLed with it (the signal was sent before the death was reported)");
    }

    [Fact(Timeout = 30_000)]
    public async Task Kill_WhileStarting_StartThrowsAndVmIsKilled()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.CreateAsync(new FakeScenario { StartupMs = 20_000 });
        var callback = new RecordingCallback();
        vm.RegisterCallback(callback);

        Task start = vm.StartAsync();
        (await ProcessProbe.WaitUntilAsync(() => h.ProcessIdOf(vm) is not null, TimeSpan.FromSeconds(10))).Should().BeTrue();
        h.TrackPid(vm);
        vm.State.Should().Be(VirtualMachineState.Starting);
        vm.Kill();

        Func<Task> started = () => start;
        (await started.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain("killed while it was starting");
        vm.DeathReason.Should().Be(DeathReason.Killed);
        (await callback.Died).Should().Be(DeathReason.Killed);
    }

    [Fact(Timeout = 30_000)]
    public async Task StartAsync_Cancelled_KillsVmAndThrowsOperationCanceled()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.CreateAsync(new FakeScenario { StartupMs = 20_000 });
        using var cts = new CancellationTokenSource();

        Task start = vm.StartAsync(cts.Token);
        (await ProcessProbe.WaitUntilAsync(() => h.ProcessIdOf(vm) is not null, TimeSpan.FromSeconds(10))).Should().BeTrue();
        h.TrackPid(vm);
        await cts.CancelAsync();

        Func<Task> started = () => start;
        await started.Should().ThrowAsync<OperationCanceledException>();
        vm.DeathReason.Should().Be(DeathReason.Killed);
    }

    [Fact(Timeout = 30_000)]
    public async Task StopAsync_VmmIgnoresStop_KilledAfterGracePeriod()
    {
        await using var h = new TestHarness(o => o with { StopGracePeriod = TimeSpan.FromMilliseconds(300) });
        IVirtualMachine vm = await h.StartAsync(new FakeScenario { IgnoreStop = true });

        await vm.StopAsync();

        vm.DeathReason.Should().Be(DeathReason.Killed);
    }

    [Fact(Timeout = 30_000)]
    public async Task StopAsync_NotStarted_KillsAtOnce_AndDeadIsNoOp()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.CreateAsync();

        await vm.StopAsync();
        vm.DeathReason.Should().Be(DeathReason.Killed);
        await vm.StopAsync();
        vm.Kill();
        vm.DeathReason.Should().Be(DeathReason.Killed);
    }

    [Fact(Timeout = 30_000)]
    public async Task Console_NullStream_LargeOutputIsDiscardedWithoutBlocking()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.StartAsync(new FakeScenario { ConsoleBytes = 8 << 20, RunMs = 300 });
        (await vm.WaitForDeathAsync()).Should().Be(DeathReason.Shutdown);
    }

    [Fact(Timeout = 30_000)]
    public async Task Console_LargeOutputReachesStreamCompletely()
    {
        await using var h = new TestHarness();
        using var sink = new CountingStream();
        IVirtualMachine vm = await h.StartAsync(new FakeScenario { ConsoleBytes = 4 << 20, ConsoleLines = 0, RunMs = 3000 }, sink);
        (await vm.WaitForDeathAsync()).Should().Be(DeathReason.Shutdown);
        sink.Count.Should().Be(4 << 20);
    }

    /// <summary>
    /// The fake crosvm's guest cannot end its run while its console write is blocked (a vCPU on a full serial FIFO), so
    /// a consumer that takes nothing holds the VM up, and once it reads, every byte arrives and the guest powers off.
    /// </summary>
    [Fact(Timeout = 60_000)]
    public async Task Console_ConsumerThatTakesNothing_HoldsTheGuestInItsWrite_UntilItReads()
    {
        const int Bytes = 4 << 20; // far more than the console socket and the pump can hold
        await using var h = new TestHarness();
        using var gate = new GatedStream();
        IVirtualMachine vm = await h.StartAsync(new FakeScenario { ConsoleBytes = Bytes, ConsoleLines = 0, RunMs = 1 }, gate);

        Task blocked = h.Log.WaitForAsync(m => m.Contains("its console write is blocked", StringComparison.Ordinal));
        Task<DeathReason> died = vm.WaitForDeathAsync();
        (await Task.WhenAny(blocked, died)).Should().BeSameAs(blocked, "the guest's run is over, but it is stuck writing its console");
        died.IsCompleted.Should().BeFalse("a guest blocked in a console write does not power off");
        gate.Consumed.Should().BeLessThan(Bytes);

        gate.Allow(int.MaxValue);
        (await died).Should().Be(DeathReason.Shutdown);
        gate.Consumed.Should().Be(Bytes, "every byte reaches the consumer once it reads");
    }

    [Fact(Timeout = 30_000)]
    public async Task Console_StreamThatThrows_IsLoggedAndTheVmKeepsRunningToItsEnd()
    {
        await using var h = new TestHarness();
        using var broken = new ThrowingStream();
        IVirtualMachine vm = await h.StartAsync(new FakeScenario { ConsoleBytes = 16 << 20, RunMs = 500 }, broken);

        (await vm.WaitForDeathAsync()).Should().Be(DeathReason.Shutdown, "the rest of the console was drained, so the VMM never blocked");
        broken.Writes.Should().Be(1, "the stream is abandoned after its first failure");
        h.Log.Entries.Should().Contain(e => e.Exception is IOException && e.Message.Contains("Copying the console failed", StringComparison.Ordinal) && e.Scope == $"CID {vm.Cid}");
    }

    [Fact(Timeout = 30_000)]
    public async Task Stderr_GoesToLoggerLineByLine()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.StartAsync(new FakeScenario { StderrLines = 3, RunMs = 50 });
        await vm.WaitForDeathAsync();
        h.Log.Entries.Count(e => e.Message.StartsWith("VMM: ", StringComparison.Ordinal) && e.Scope == $"CID {vm.Cid}")
            .Should().BeGreaterThanOrEqualTo(3, "each stderr line is a message in the VM's CID scope");
    }

    [Fact(Timeout = 30_000)]
    public async Task ConnectVsockAsync_NegativePort_Throws()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.CreateAsync();
        Func<Task> connect = () => vm.ConnectVsockAsync(-1);
        await connect.Should().ThrowAsync<ArgumentOutOfRangeException>();
    }
}
