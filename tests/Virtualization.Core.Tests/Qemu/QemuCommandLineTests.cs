using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using Virtualization.Core.Qemu;
using Virtualization.Core.Vmm;

namespace Virtualization.Core.Tests.Qemu;

public sealed class QemuCommandLineTests
{
    [Theory]
    [InlineData(2399998L, "processor\t: 0", "cpu family\t: 6", "model name\t: Intel(R) Xeon(R) CPU @ 2.20GHz", "cpu MHz\t\t: 2399.998", "cpu MHz\t\t: 1000.000")]
    [InlineData(1500500L, "cpu MHz\t\t: 0.000", "cpu MHz\t\t: -3.5", "cpu MHz\t\t: fast", "cpu MHz\t\t: 1500.4996")]
    [InlineData(1L, "cpu MHz : 0.0006")]
    [InlineData(null, "cpu MHz\t\t: 0.000")]
    [InlineData(null, "cpu MHz")]
    [InlineData(null, "bogomips\t: 4799.99", "model name\t: cpu MHz: 3000")]
    [InlineData(null)]
    public void ParseCpuKhz_IsTheFirstPositiveCpuMhzLine_InKhz(long? expected, params string[] lines) =>
        QemuCommandLine.ParseCpuKhz(lines).Should().Be(expected);

    [Fact]
    public void ReadHostTscKhz_IsThisHostsFirstPositiveCpuMhz()
    {
        // An independent reading of /proc/cpuinfo (null where it has no "cpu MHz", as on arm64).
        long? expected = null;
        foreach (string line in File.ReadLines("/proc/cpuinfo"))
        {
            Match m = Regex.Match(line, @"^cpu MHz\s*:\s*([0-9.]+)$");
            if (m.Success && double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) is > 0 and var mhz)
            {
                expected = (long)Math.Round(mhz * 1000);
                break;
            }
        }

        QemuCommandLine.ReadHostTscKhz().Should().Be(expected);
    }

    [Fact]
    public void Build_KernelDisksVsock_ProducesMicrovmArgv()
    {
        var config = new VirtualMachineRawConfig { Kernel = "/k/vmlinuz", Initrd = "/k/initrd", Params = "quiet", MemoryMib = 300, CpuCount = 2 };
        var request = new VmmLaunchRequest(12, config, [new VmmDisk("/d/a,b.img", false), new VmmDisk("/d/rw.img", true)], "/tmp/vm-12", Stream.Null, NullLogger.Instance);

        List<string> argv = QemuCommandLine.Build(request, useKvm: false, withVsock: true);

        argv.Should().ContainInConsecutiveOrder("-M", "microvm,x-option-roms=off,rtc=on");
        argv.Should().Contain(["-nodefaults", "-no-user-config", "-nographic", "-no-reboot"]);
        argv.Should().ContainInConsecutiveOrder("-accel", "tcg");
        argv.Should().ContainInConsecutiveOrder("-m", "300");
        argv.Should().ContainInConsecutiveOrder("-smp", "2");
        argv.Should().ContainInConsecutiveOrder("-serial", "stdio");
        argv.Should().ContainInConsecutiveOrder("-qmp", "unix:/tmp/vm-12/qmp.sock,server=on,wait=off");
        argv.Should().ContainInConsecutiveOrder("-kernel", "/k/vmlinuz");
        string append = argv[argv.IndexOf("-append") + 1];
        append.Should().MatchRegex(@"^console=ttyS0 reboot=t panic=-1 tsc_early_khz=\d+ quiet$");
        argv.Should().ContainInConsecutiveOrder("-initrd", "/k/initrd");
        argv.Should().ContainInConsecutiveOrder("-drive", "file=/d/a,,b.img,if=none,id=disk0,format=raw,readonly=on");
        argv.Should().ContainInConsecutiveOrder("-drive", "file=/d/rw.img,if=none,id=disk1,format=raw,readonly=off");
        argv.Should().ContainInConsecutiveOrder("-device", "virtio-blk-device,drive=disk1");
        argv.Should().ContainInConsecutiveOrder("-device", "vhost-vsock-device,guest-cid=12");
        argv.Should().NotContain("-cpu");
    }

    [Fact]
    public void Build_NoConsoleKvmNoVsock_SerialStdioCpuHostBalloonNoVsockDevice()
    {
        var config = new VirtualMachineRawConfig { Kernel = "/k" };
        var request = new VmmLaunchRequest(10, config, [], "/t", null, NullLogger.Instance);

        List<string> argv = QemuCommandLine.Build(request, useKvm: true, withVsock: false);

        argv.Should().ContainInConsecutiveOrder(["-serial", "stdio"], "the console is always observed and takes input, with or without an output stream");
        argv.Should().ContainInConsecutiveOrder("-device", "virtio-balloon-device,id=balloon0");
        argv.Should().ContainInConsecutiveOrder("-accel", "kvm");
        argv.Should().ContainInConsecutiveOrder("-cpu", "host");
        argv.Should().ContainInConsecutiveOrder("-m", "256");
        argv.Should().NotContain(a => a.StartsWith("vhost-vsock", StringComparison.Ordinal));
    }

    [Fact]
    public void Build_BootloaderDefaultsPayloadWithStdio_ExactArgv()
    {
        var config = new VirtualMachineRawConfig
        {
            Bootloader = "/b/bios,1.bin",
            PayloadChannel = new PayloadChannelOptions { Stdio = true },
        };
        var request = new VmmLaunchRequest(9, config, [], "/t,x", null, NullLogger.Instance);

        List<string> argv = QemuCommandLine.Build(request, useKvm: false, withVsock: false);

        // Written out: 256 MiB and 1 vCPU by default, pvpanic and the balloon always, -bios as given (not a key=value
        // list), the payload's virtio-serial ports with the folder's comma doubled.
        argv.Should().Equal(
            "-M", "microvm,x-option-roms=off,rtc=on",
            "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
            "-accel", "tcg",
            "-m", "256",
            "-smp", "1",
            "-serial", "stdio",
            "-qmp", "unix:/t,,x/qmp.sock,server=on,wait=off",
            "-device", "pvpanic",
            "-device", "virtio-balloon-device,id=balloon0",
            "-bios", "/b/bios,1.bin",
            "-device", "virtio-serial-device,id=vcore-payload-bus",
            "-chardev", "socket,id=vcore-payload,path=/t,,x/payload.sock,server=off",
            "-device", "virtserialport,bus=vcore-payload-bus.0,chardev=vcore-payload,name=vcore.payload",
            "-chardev", "socket,id=vcore-stdio,path=/t,,x/payload-stdio.sock,server=off",
            "-device", "virtserialport,bus=vcore-payload-bus.0,chardev=vcore-stdio,name=vcore.stdio");
    }

    [SkippableFact]
    public void Build_UnderTcg_TellsTheGuestTheHostTscRate_FromProcCpuinfo()
    {
        // Independent reading of /proc/cpuinfo: the first "cpu MHz : N" line, in kHz.
        Match? mhz = File.ReadLines("/proc/cpuinfo")
            .Select(line => Regex.Match(line, @"^cpu MHz\s*:\s*([0-9.]+)$"))
            .FirstOrDefault(m => m.Success && double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) > 0);
        Skip.If(mhz is null, "/proc/cpuinfo has no positive 'cpu MHz' line on this host (e.g. arm64), so no tsc_early_khz is added");
        long khz = (long)Math.Round(double.Parse(mhz.Groups[1].Value, CultureInfo.InvariantCulture) * 1000);
        var request = new VmmLaunchRequest(3, new VirtualMachineRawConfig { Kernel = "/k" }, [], "/t", null, NullLogger.Instance);

        string tcgAppend = Append(QemuCommandLine.Build(request, useKvm: false, withVsock: false));
        string kvmAppend = Append(QemuCommandLine.Build(request, useKvm: true, withVsock: false));

        tcgAppend.Should().Be($"console=ttyS0 reboot=t panic=-1 tsc_early_khz={khz}");
        kvmAppend.Should().Be("console=ttyS0 reboot=t panic=-1", "under KVM the guest calibrates its TSC itself");

        static string Append(List<string> argv) => argv[argv.IndexOf("-append") + 1];
    }

    [Theory]
    [InlineData(0, "guest-shutdown", false, DeathReason.Shutdown)]
    [InlineData(0, "host-qmp-quit", false, DeathReason.Shutdown)]
    [InlineData(0, "guest-reset", false, DeathReason.Reboot)]
    [InlineData(0, "guest-panic", false, DeathReason.GuestPanic)]
    [InlineData(1, null, true, DeathReason.GuestPanic)]
    [InlineData(0, null, false, DeathReason.Shutdown)]
    [InlineData(1, null, false, DeathReason.Error)]
    public void ToDeathReason_MapsQmpEventsAndExitCode(int exitCode, string? reason, bool panicked, DeathReason expected) =>
        QemuProcess.ToDeathReason(exitCode, reason, panicked).Should().Be(expected);

    [Fact(Timeout = 30_000)]
    public async Task CreateVmAsync_QemuWithWritablePartition_ThrowsConfigErrorNamingThePartitionsAndLeavesNothing()
    {
        await using var h = new Infrastructure.TestHarness(o => o with { Vmm = VmmKind.Qemu });
        string part = h.File("p.img", 4096);
        var config = new VirtualMachineRawConfig { Kernel = h.Kernel(), Disks = [new DiskImage(null, false, [new Partition("data", part, Writable: true)])] };

        Func<Task> create = () => h.Service.CreateVmAsync(config);

        VirtualMachineConfigException e = (await create.Should().ThrowAsync<VirtualMachineConfigException>()).Which;
        e.Field.Should().Be("Disks[0].Partitions");
        e.Message.Should().Contain("'data' is writable").And.Contain("crosvm");
        h.Service.HeldCidCount.Should().Be(0);
    }
}
