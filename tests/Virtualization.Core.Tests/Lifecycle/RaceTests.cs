using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Lifecycle;

public sealed class RaceTests
{
    /// <summary>
    /// Start, Kill, Dispose and the VMM's own exit racing. The harness's leak check accounts for every process started
    /// for it (by the harness's folder in their argv), including VMMs killed while being spawned and those that fail at
    /// start; most stub VMMs here run until killed, so a kill that is lost leaves a VMM behind.
    /// </summary>
    [Fact(Timeout = 120_000)]
    public async Task StartKillExitDispose_Racing_AlwaysEndDeadOnceWithNothingLeft()
    {
        await using var h = TestHarness.OverStub();
        const int Rounds = 16;
        for (int round = 0; round < Rounds; round++)
        {
            StubScenario scenario = (round % 4) switch
            {
                0 => new StubScenario { ExitAfterMs = 0, ExitCode = 0 },
                1 => new StubScenario { FailAtStart = 3 },
                _ => new StubScenario(),
            };
            IVirtualMachine vm = await h.Service.CreateVmAsync(new VirtualMachineRawConfig { Kernel = h.StubKernel(scenario) });
            var callback = new RecordingCallback();
            vm.RegisterCallback(callback);
            Task start = Task.Run(() => vm.StartAsync());
            Task kill = Task.Run(() =>
            {
                if (round % 2 == 0)
                {
                    vm.Kill();
                }
            });
            Task dispose = Task.Run(async () => await vm.DisposeAsync());

            await Task.WhenAll(kill, dispose);
            await start.ContinueWith(_ => { }, TaskScheduler.Default);

            vm.State.Should().Be(VirtualMachineState.Dead);
            await callback.Died;
            callback.Events.Should().ContainSingle().Which.Should().StartWith("died:");
            if (start.IsFaulted)
            {
                start.Exception!.InnerException.Should().Match<Exception>(e => e is InvalidOperationException || e is VirtualMachineStartException || e is ObjectDisposedException);
            }
        }
    }

    /// <summary>
    /// A Kill that arrives while the VMM is being spawned (StartAsync is in Launching from its first line, and the spawn
    /// cannot complete synchronously) must kill the VMM once it exists: the VM dies as Killed without any other call,
    /// and its VMM (which would run forever) is gone.
    /// </summary>
    [Fact(Timeout = 60_000)]
    public async Task Kill_WhileTheVmmIsBeingSpawned_KillsItOnceItExists()
    {
        await using var h = TestHarness.OverStub();
        for (int round = 0; round < 4; round++)
        {
            IVirtualMachine vm = await h.Service.CreateVmAsync(new VirtualMachineRawConfig { Kernel = h.StubKernel(new StubScenario()) });
            Task start = vm.StartAsync();
            vm.State.Should().Be(VirtualMachineState.Starting, "the kill below must arrive while the VMM is being spawned");

            vm.Kill();

            (await vm.WaitForDeathAsync()).Should().Be(DeathReason.Killed);
            Func<Task> started = () => start;
            await started.Should().ThrowAsync<InvalidOperationException>().WithMessage("*killed while it was starting*");
            (await ProcessProbe.WaitUntilAsync(() => h.LiveProcesses().Count == 0, TimeSpan.FromSeconds(10)))
                .Should().BeTrue("the VMM spawned for a killed VM is killed (SIGKILL delivery may take a moment)");
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task ServiceDispose_WithRunningAndNotStartedVms_StopsAllAndLeavesNoProcess()
    {
        var h = new TestHarness(o => o with { StopGracePeriod = TimeSpan.FromMilliseconds(500) });
        var running = new List<int>();
        for (int i = 0; i < 4; i++)
        {
            IVirtualMachine vm = await h.StartAsync(new FakeScenario { IgnoreStop = i % 2 == 0 });
            running.Add(h.ProcessIdOf(vm)!.Value);
        }

        _ = await h.CreateAsync();

        await h.Service.DisposeAsync();

        running.Where(ProcessProbe.IsAlive).Should().BeEmpty();
        h.Service.DebugListVms().Should().BeEmpty();
        await h.DisposeAsync();
    }
}
