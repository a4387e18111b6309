using System.Text.RegularExpressions;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Qemu;

/// <summary>Real guests: QEMU (TCG), the Debian kernel and the busybox initramfs from guest/build-image.sh.</summary>
[Collection(QemuGuests.Name)]
[Trait("Category", "E2E")]
public sealed partial class QemuEndToEndTests
{
    [SkippableFact(Timeout = 120_000)]
    public async Task Guest_PowersOff_ConsoleReachesStreamAndDeathIsShutdown()
    {
        GuestImage.SkipUnlessAvailable();
        await using var h = GuestImage.Harness();
        var console = new ConsoleCapture();
        IVirtualMachine vm = await h.Service.CreateVmAsync(GuestImage.Action("poweroff"), console);
        var callback = new RecordingCallback();
        vm.RegisterCallback(callback);

        await vm.StartAsync();
        h.TrackPid(vm);

        (await vm.WaitForDeathAsync()).Should().Be(DeathReason.Shutdown);
        (await callback.Died).Should().Be(DeathReason.Shutdown);
        console.Text.Should().Contain("VCORE-GUEST: booted").And.Contain("VCORE-GUEST: action poweroff");
    }

    [SkippableFact(Timeout = 120_000)]
    public async Task Guest_SeesConfiguredMemoryAndCpus()
    {
        GuestImage.SkipUnlessAvailable();
        await using var h = GuestImage.Harness();
        var console = new ConsoleCapture();
        VirtualMachineRawConfig config = GuestImage.Script("echo MEM=$(grep MemTotal /proc/meminfo | tr -s ' ' | cut -d' ' -f2); echo CPUS=$(nproc)")
            with { MemoryMib = 300, CpuCount = 2 };
        IVirtualMachine vm = await h.Service.CreateVmAsync(config, console);
        await vm.StartAsync();
        h.TrackPid(vm);

        (await vm.WaitForDeathAsync()).Should().Be(DeathReason.Shutdown);
        console.Text.Should().Contain("CPUS=2");
        long memKb = long.Parse(MemRegex().Match(console.Text).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        memKb.Should().BeInRange(200 * 1024, 300 * 1024, "MemTotal is the 300 MiB given minus what the kernel keeps");
    }

    [SkippableFact(Timeout = 120_000)]
    public async Task Guest_Reboots_DeathIsReboot()
    {
        GuestImage.SkipUnlessAvailable();
        await using var h = GuestImage.Harness();
        IVirtualMachine vm = await h.Service.CreateVmAsync(GuestImage.Action("reboot"));
        await vm.StartAsync();
        h.TrackPid(vm);
        (await vm.WaitForDeathAsync()).Should().Be(DeathReason.Reboot);
    }

    [SkippableFact(Timeout = 120_000)]
    public async Task Guest_Panics_DeathIsGuestPanic()
    {
        GuestImage.SkipUnlessAvailable();
        await using var h = GuestImage.Harness();
        var console = new ConsoleCapture();
        IVirtualMachine vm = await h.Service.CreateVmAsync(GuestImage.Action("panic"), console);
        await vm.StartAsync();
        h.TrackPid(vm);
        (await vm.WaitForDeathAsync()).Should().Be(DeathReason.GuestPanic, "console was:\n" + console.Text);
    }

    [SkippableFact(Timeout = 120_000)]
    public async Task Kill_DuringBoot_IsKilledAndNoQemuIsLeft()
    {
        GuestImage.SkipUnlessAvailable();
        await using var h = GuestImage.Harness();
        IVirtualMachine vm = await h.Service.CreateVmAsync(GuestImage.Action("hang"));
        await vm.StartAsync();
        int pid = h.ProcessIdOf(vm)!.Value;
        h.TrackPid(vm);

        vm.Kill();

        (await vm.WaitForDeathAsync()).Should().Be(DeathReason.Killed);
        ProcessProbe.IsAlive(pid).Should().BeFalse();
    }

    [SkippableFact(Timeout = 120_000)]
    public async Task StopAsync_HungGuest_ShutsDownWithinGracePeriod()
    {
        GuestImage.SkipUnlessAvailable();
        await using var h = GuestImage.Harness(o => o with { StopGracePeriod = TimeSpan.FromSeconds(6) });
        var console = new ConsoleCapture();
        IVirtualMachine vm = await h.Service.CreateVmAsync(GuestImage.Action("hang"), console);
        await vm.StartAsync();
        h.TrackPid(vm);
        await console.WaitForAsync("VCORE-GUEST: action hang");

        await vm.StopAsync();

        vm.DeathReason.Should().Be(DeathReason.Shutdown, "the guest powers off on request, or QEMU quits; neither is a kill");
    }

    [SkippableFact(Timeout = 180_000)]
    public async Task FourGuestsAtOnce_EachHasItsOwnCidConsoleAndFolder()
    {
        GuestImage.SkipUnlessAvailable();
        await using var h = GuestImage.Harness();
        var consoles = Enumerable.Range(0, 4).Select(_ => new ConsoleCapture()).ToArray();
        var vms = new IVirtualMachine[4];
        for (int i = 0; i < 4; i++)
        {
            vms[i] = await h.Service.CreateVmAsync(GuestImage.Script($"echo GUEST-INDEX={i}"), consoles[i]);
        }

        await Task.WhenAll(vms.Select(v => v.StartAsync()));
        foreach (IVirtualMachine vm in vms)
        {
            h.TrackPid(vm);
        }

        vms.Select(v => v.Cid).Should().OnlyHaveUniqueItems();
        h.Service.DebugListVms().Select(i => i.TemporaryDirectory).Should().OnlyHaveUniqueItems().And.HaveCount(4);
        DeathReason[] reasons = await Task.WhenAll(vms.Select(v => v.WaitForDeathAsync()));
        reasons.Should().AllBeEquivalentTo(DeathReason.Shutdown);
        for (int i = 0; i < 4; i++)
        {
            consoles[i].Text.Should().Contain($"GUEST-INDEX={i}");
            consoles.Where((_, j) => j != i).Should().NotContain(c => c.Text.Contains($"GUEST-INDEX={i}"));
        }
    }

    [SkippableFact(Timeout = 120_000)]
    public async Task ServiceDispose_WithRunningGuests_LeavesNoProcessAndNoFolder()
    {
        GuestImage.SkipUnlessAvailable();
        var h = GuestImage.Harness(o => o with { StopGracePeriod = TimeSpan.FromSeconds(2) });
        var pids = new List<int>();
        for (int i = 0; i < 2; i++)
        {
            IVirtualMachine vm = await h.Service.CreateVmAsync(GuestImage.Action("hang"));
            await vm.StartAsync();
            pids.Add(h.ProcessIdOf(vm)!.Value);
            h.TrackPid(vm);
        }

        await h.Service.DisposeAsync();

        pids.Where(ProcessProbe.IsAlive).Should().BeEmpty();
        Directory.GetDirectories(h.Options.TemporaryDirectory).Should().BeEmpty();
        await h.DisposeAsync();
    }

    [SkippableFact(Timeout = 120_000)]
    public async Task Guest_SeesPartitionedDiskWithLabelsAndContents()
    {
        GuestImage.SkipUnlessAvailable();
        await using var h = GuestImage.Harness();
        string first = h.File("first.img", 8192);
        string second = h.File("second.img", 3000);
        await File.WriteAllTextAsync(first, "FIRST-PARTITION-DATA");
        await using (var s = File.OpenWrite(first))
        {
            s.SetLength(8192);
        }

        await File.WriteAllTextAsync(second, "SECOND-PARTITION-DATA");
        var console = new ConsoleCapture();
        VirtualMachineRawConfig config = GuestImage.Script(
            "for p in vda1 vda2; do grep PARTNAME /sys/class/block/$p/uevent; head -c 21 /dev/$p; echo; done")
            with { Disks = [new DiskImage(null, false, [new Partition("alpha", first, false), new Partition("beta", second, false)])] };
        IVirtualMachine vm = await h.Service.CreateVmAsync(config, console);
        await vm.StartAsync();
        h.TrackPid(vm);

        (await vm.WaitForDeathAsync()).Should().Be(DeathReason.Shutdown);
        console.Text.Should().Contain("PARTNAME=alpha").And.Contain("FIRST-PARTITION-DATA")
            .And.Contain("PARTNAME=beta").And.Contain("SECOND-PARTITION-DATA");
    }

    [SkippableFact(Timeout = 120_000)]
    public async Task Guest_ReadsReadOnlyDiskAndWritesWritableDisk()
    {
        GuestImage.SkipUnlessAvailable();
        await using var h = GuestImage.Harness();
        string input = h.File("input.img", 4096);
        await File.WriteAllTextAsync(input, "HOST-TO-GUEST-DATA");
        await using (var s = File.OpenWrite(input))
        {
            s.SetLength(4096);
        }

        string output = h.File("output.img", 4096);
        var console = new ConsoleCapture();
        VirtualMachineRawConfig config = GuestImage.Script(
            "echo RO=$(cat /sys/block/vda/ro) RW=$(cat /sys/block/vdb/ro); head -c 18 /dev/vda; echo; "
            + "printf GUEST-TO-HOST-DATA | dd of=/dev/vdb conv=notrunc 2>/dev/null; sync")
            with { Disks = [new DiskImage(input), new DiskImage(output, writable: true)] };
        IVirtualMachine vm = await h.Service.CreateVmAsync(config, console);
        await vm.StartAsync();
        h.TrackPid(vm);

        (await vm.WaitForDeathAsync()).Should().Be(DeathReason.Shutdown);
        console.Text.Should().Contain("RO=1 RW=0").And.Contain("HOST-TO-GUEST-DATA");
        (await File.ReadAllTextAsync(output)).Should().StartWith("GUEST-TO-HOST-DATA");
    }

    [GeneratedRegex(@"MEM=(\d+)")]
    private static partial Regex MemRegex();
}

/// <summary>QEMU guests are CPU-heavy under TCG: run these tests one class at a time, not alongside each other.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class QemuGuests
{
    public const string Name = "QEMU guests";
}
