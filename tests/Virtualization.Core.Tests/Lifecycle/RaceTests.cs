using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Lifecycle;

public sealed class RaceTests
{
    [Fact(Timeout = 60_000)]
    public async Task StartKillExitDispose_Racing_AlwaysEndDeadOnceWithNothingLeft()
    {
        await using var h = new TestHarness();
        for (int round = 0; round < 12; round++)
        {
            IVirtualMachine vm = await h.CreateAsync(new FakeScenario { RunMs = round % 3 == 0 ? 0 : 30 });
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
