using System.Text.RegularExpressions;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Drive;

/// <summary>Suspend, resume and the memory balloon on the crosvm path: the library runs crosvm's control subcommands,
/// which tests/FakeCrosvm implements with crosvm's grammar (its guest ticks on the console only while running).</summary>
public sealed partial class SuspendBalloonDriveTests
{
    private const long MiB = 1024 * 1024;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact(Timeout = 90_000)]
    public async Task Suspend_StopsTheGuestUntilResume_Idempotent()
    {
        await using var h = new TestHarness();
        var console = new ConsoleCapture();
        IVirtualMachine vm = await h.StartAsync(new FakeScenario { ConsoleTickMs = 50, ConsoleLines = 0 }, console);
        await vm.WaitForConsoleLineAsync("fake guest tick 3", Wait);

        await vm.SuspendAsync();
        await vm.SuspendAsync(); // idempotent
        vm.IsSuspended.Should().BeTrue();
        vm.State.Should().Be(VirtualMachineState.Starting, "suspension is not a lifecycle state");
        string before = await console.WhenQuietAsync(TimeSpan.FromMilliseconds(300), Wait); // a tick on its way has landed
        await Task.Delay(TimeSpan.FromSeconds(1.2)); // a window in which a running guest would tick ~24 times
        console.Text.Should().Be(before, "a suspended guest prints nothing");
        int last = LastTick(before);

        await vm.ResumeAsync();
        await vm.ResumeAsync(); // idempotent
        vm.IsSuspended.Should().BeFalse();
        (await vm.WaitForConsoleLineAsync($"fake guest tick {last + 1}", Wait)).Should().Be($"fake guest tick {last + 1}");
    }

    [Fact(Timeout = 60_000)]
    public async Task KillAndStop_WorkOnASuspendedVm_WhichIsThenNotSuspended()
    {
        await using var h = new TestHarness();
        IVirtualMachine killed = await h.StartAsync(new FakeScenario { ConsoleTickMs = 50 });
        IVirtualMachine stopped = await h.StartAsync(new FakeScenario { ConsoleTickMs = 50 });
        await killed.SuspendAsync();
        await stopped.SuspendAsync();

        killed.Kill();
        await stopped.StopAsync();

        (await killed.WaitForDeathAsync()).Should().Be(DeathReason.Killed);
        stopped.DeathReason.Should().Be(DeathReason.Shutdown, "crosvm stop works on a suspended VM");
        killed.IsSuspended.Should().BeFalse("a dead VM is never suspended");
        stopped.IsSuspended.Should().BeFalse();
    }

    [Fact(Timeout = 60_000)]
    public async Task Control_OnAVmThatIsNotRunning_ThrowsNotRunningWithWhatToDo()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.CreateAsync();

        Func<Task> early = () => vm.SuspendAsync();
        (await early.Should().ThrowAsync<VirtualMachineNotRunningException>().WithMessage("*Await StartAsync*"))
            .Which.State.Should().Be(VirtualMachineState.NotStarted);

        await vm.StartAsync();
        h.TrackPid(vm);
        vm.Kill();
        await vm.WaitForDeathAsync();
        Func<Task> resume = () => vm.ResumeAsync();
        Func<Task> balloon = () => vm.SetMemoryBalloonAsync(MiB);
        Func<Task> stats = () => vm.GetMemoryBalloonStatsAsync();
        foreach (Func<Task> call in new[] { resume, balloon, stats })
        {
            VirtualMachineNotRunningException e = (await call.Should().ThrowAsync<VirtualMachineNotRunningException>()).Which;
            e.DeathReason.Should().Be(DeathReason.Killed);
            e.Message.Should().Contain("Create and start a new VM");
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task SuspendResume_RacingKill_EndKilledAndNeverSuspendedWhenDead()
    {
        await using var h = new TestHarness();
        for (int i = 0; i < 4; i++)
        {
            IVirtualMachine vm = await h.StartAsync(new FakeScenario { ConsoleTickMs = 20 });
            Task suspend = vm.SuspendAsync();
            if (i % 2 == 1)
            {
                await suspend;
                suspend = vm.ResumeAsync();
            }

            vm.Kill();
            Exception? error = await Record.ExceptionAsync(() => suspend);
            error.Should().Match(e => e == null || e is VirtualMachineNotRunningException, "the request either completed or saw the VM die");
            (await vm.WaitForDeathAsync()).Should().Be(DeathReason.Killed);
            vm.IsSuspended.Should().BeFalse();
            vm.State.Should().Be(VirtualMachineState.Dead);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Balloon_InflateAndDeflate_StatsFollow_BalloonIsMemoryTakenFromTheGuest()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.Service.CreateVmAsync(h.Config() with { MemoryMib = 512 });
        await vm.StartAsync();
        h.TrackPid(vm);

        await vm.SetMemoryBalloonAsync(128 * MiB);
        MemoryBalloonStats inflated = await vm.GetMemoryBalloonStatsAsync();
        await vm.SetMemoryBalloonAsync(0);
        MemoryBalloonStats deflated = await vm.GetMemoryBalloonStatsAsync();

        // The fake guest reports total = memory - balloon, free = total / 2, available = 3/4 total (tests/FakeCrosvm).
        inflated.Should().Be(new MemoryBalloonStats(128 * MiB, 512 * MiB, 384 * MiB, 192 * MiB, 288 * MiB, MiB, 7, 1234));
        deflated.BalloonBytes.Should().Be(0);
        deflated.TotalMemoryBytes.Should().Be(512 * MiB);
    }

    [Fact(Timeout = 60_000)]
    public async Task Balloon_OutOfRange_IsRejectedBeforeAnythingIsSent()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.StartAsync();
        Func<Task> negative = () => vm.SetMemoryBalloonAsync(-1);
        Func<Task> all = () => vm.SetMemoryBalloonAsync(256 * MiB);
        await negative.Should().ThrowAsync<ArgumentOutOfRangeException>();
        (await all.Should().ThrowAsync<ArgumentOutOfRangeException>()).WithMessage("*smaller than the guest's 268435456 bytes*");
    }

    private static int LastTick(string text) =>
        TickRegex().Matches(text).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).Max();

    [GeneratedRegex(@"fake guest tick (\d+)\n")]
    private static partial Regex TickRegex();
}
