using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Virtualization.Core.Tests.Infrastructure;
using Virtualization.Core.Tests.Qemu;

namespace Virtualization.Core.Tests.Drive;

/// <summary>Driving real guests: QEMU (TCG), the busybox guest of guest/build-image.sh (which loads virtio_balloon).</summary>
[Collection(QemuGuests.Name)]
public sealed partial class QemuDriveEndToEndTests
{
    private const long MiB = 1024 * 1024;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);

    [SkippableFact(Timeout = 180_000)]
    public async Task Shell_TypedCommandRuns_PoweroffShutsDown()
    {
        GuestImage.SkipUnlessAvailable();
        await using var h = GuestImage.Harness();
        IVirtualMachine vm = await StartAsync(h, GuestImage.Action("shell"));
        await vm.WaitForConsoleLineAsync("VCORE-GUEST: action shell", Wait);
        await using Stream input = vm.OpenConsoleInput();

        // The shell echoes what is typed; only the command's output has the computed number.
        await input.WriteAsync(Encoding.ASCII.GetBytes("echo TYPED-$((6*7))-OK\n"));
        (await vm.WaitForConsoleLineAsync(new Regex("^TYPED-42-OK$"), Wait)).Should().Be("TYPED-42-OK");
        await input.WriteAsync(Encoding.ASCII.GetBytes("poweroff -f\n"));

        (await vm.WaitForDeathAsync()).Should().Be(DeathReason.Shutdown);
    }

    [SkippableFact(Timeout = 180_000)]
    public async Task ConsoleInputEnds_QemuKeepsRunning_GuestFinishesNormally()
    {
        GuestImage.SkipUnlessAvailable();
        await using var h = GuestImage.Harness();
        IVirtualMachine vm = await StartAsync(h, GuestImage.Script("sleep 3; echo STILL-ALIVE-$((1+1))"));

        await vm.CopyToConsoleInputAsync(new MemoryStream()); // end of input at once: QEMU reads end-of-file on its stdin

        (await vm.WaitForConsoleLineAsync("STILL-ALIVE-2", Wait)).Should().Be("STILL-ALIVE-2");
        (await vm.WaitForDeathAsync()).Should().Be(DeathReason.Shutdown);
    }

    [SkippableFact(Timeout = 180_000)]
    public async Task ConsoleWait_MarkerAfterADelay_Completes_ALineThatNeverComesFailsWithShutdown()
    {
        GuestImage.SkipUnlessAvailable();
        await using var h = GuestImage.Harness();
        IVirtualMachine vm = await StartAsync(h, GuestImage.Script("sleep 1; echo MARKER-$((40+2)); sleep 2"));

        (await vm.WaitForConsoleLineAsync("MARKER-42", Wait)).Should().Be("MARKER-42");
        Func<Task> never = () => vm.WaitForConsoleLineAsync("NEVER-PRINTED", Timeout.InfiniteTimeSpan);
        (await never.Should().ThrowAsync<VirtualMachineDiedException>()).Which.Reason.Should().Be(DeathReason.Shutdown);
    }

    [SkippableFact(Timeout = 240_000)]
    public async Task Suspend_NoCounterLinesUntilResume_KillWhileSuspended()
    {
        GuestImage.SkipUnlessAvailable();
        await using var h = GuestImage.Harness();
        var console = new ConsoleCapture();
        IVirtualMachine vm = await StartAsync(h, GuestImage.Script("i=0; while :; do i=$((i+1)); echo COUNT-$i; sleep 0.1; done"), console);
        await vm.WaitForConsoleLineAsync("COUNT-5", Wait);

        await vm.SuspendAsync();
        vm.IsSuspended.Should().BeTrue();
        string before = await console.WhenQuietAsync(TimeSpan.FromMilliseconds(500), Wait); // what was on its way has landed
        await Task.Delay(TimeSpan.FromSeconds(1.5)); // a running guest would print ~15 lines here
        console.Text.Should().Be(before, "the guest's vCPUs are paused");
        int last = CountRegex().Matches(before).Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).Max();

        await vm.ResumeAsync();
        vm.IsSuspended.Should().BeFalse();
        (await vm.WaitForConsoleLineAsync($"COUNT-{last + 1}", Wait)).Should().Be($"COUNT-{last + 1}");

        await vm.SuspendAsync();
        vm.Kill();
        (await vm.WaitForDeathAsync()).Should().Be(DeathReason.Killed);
        vm.IsSuspended.Should().BeFalse();
    }

    [SkippableFact(Timeout = 240_000)]
    public async Task Balloon_InflateShrinksMemTotal_DeflateRestoresIt()
    {
        GuestImage.SkipUnlessAvailable();
        await using var h = GuestImage.Harness();
        // Prints MemTotal (kB) at start, once it has dropped by 60 MiB or more (the balloon inflates in steps), and once
        // it is back where it started.
        const string Script = "mem() { grep MemTotal /proc/meminfo | tr -s ' ' | cut -d' ' -f2; }; first=$(mem); echo MEM-FIRST-$first; "
            + "until [ $(mem) -le $((first - 61440)) ]; do sleep 0.2; done; sleep 1; echo MEM-LOW-$(mem); "
            + "until [ $(mem) -eq $first ]; do sleep 0.2; done; echo MEM-BACK-$(mem); while :; do sleep 1; done";
        IVirtualMachine vm = await StartAsync(h, GuestImage.Script(Script) with { MemoryMib = 256 });
        long baseline = Kb(await vm.WaitForConsoleLineAsync(new Regex(@"^MEM-FIRST-\d+$"), Wait));

        await vm.SetMemoryBalloonAsync(64 * MiB);
        long inflated = Kb(await vm.WaitForConsoleLineAsync(new Regex(@"^MEM-LOW-\d+$"), Wait));
        MemoryBalloonStats stats = await vm.GetMemoryBalloonStatsAsync();
        await vm.SetMemoryBalloonAsync(0);
        long deflated = Kb(await vm.WaitForConsoleLineAsync(new Regex(@"^MEM-BACK-\d+$"), Wait));

        inflated.Should().Be(baseline - (64 * 1024), "64 MiB went into the balloon (MemTotal is in kB)");
        stats.GuestMemoryBytes.Should().Be(256 * MiB);
        stats.BalloonBytes.Should().Be(64 * MiB, "the balloon is the memory taken from the guest (QEMU's 'actual' is what it keeps)");
        deflated.Should().Be(baseline);
        vm.Kill();
        await vm.WaitForDeathAsync();
    }

    private static async Task<IVirtualMachine> StartAsync(TestHarness h, VirtualMachineRawConfig config, Stream? console = null)
    {
        IVirtualMachine vm = await h.Service.CreateVmAsync(config, console);
        await vm.StartAsync();
        h.TrackPid(vm);
        return vm;
    }

    private static long Kb(string line) => long.Parse(line[(line.LastIndexOf('-') + 1)..], CultureInfo.InvariantCulture);

    [GeneratedRegex(@"COUNT-(\d+)")]
    private static partial Regex CountRegex();
}
