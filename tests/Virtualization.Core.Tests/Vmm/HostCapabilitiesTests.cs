using Virtualization.Core.Tests.Infrastructure;
using Virtualization.Core.Vmm;

namespace Virtualization.Core.Tests.Vmm;

/// <summary>HostCapabilities, the public probe behind `vm info` and the health check, pointed at files of the test's own.</summary>
public sealed class HostCapabilitiesTests
{
    [Fact(Timeout = 90_000)]
    public async Task ProbeAsync_CrosvmAndKvmPresent_ReportsEachItem_AndAutoPicksCrosvm()
    {
        using var dir = new TempDir();
        string device = dir.CreateImage("dev", 1, 1);

        HostCapabilities host = await HostCapabilities.ProbeAsync(new HostProbeOptions
        {
            CrosvmPath = TestPaths.FakeCrosvm,
            QemuPath = "/nonexistent/qemu-system-x86_64",
            KvmDevice = device,
            VhostVsockDevice = device,
            VsockDevice = dir.File("no-vsock"),
            LauncherPath = TestPaths.FakeCrosvm,
            TemporaryDirectory = dir.File("vms"),
        });

        host.Items.Select(i => i.Name).Should().Equal("crosvm", "QEMU", "KVM", "vhost-vsock", "vsock", "temporary directory", "launcher");
        host.Crosvm.Should().Be(new HostCapability("crosvm", true, $"{TestPaths.FakeCrosvm} (crosvm 0.1.0)", null));
        host.Qemu.IsAvailable.Should().BeFalse();
        host.Qemu.Fix.Should().Contain("apt-get install qemu-system-x86");
        host.Kvm.IsAvailable.Should().BeTrue();
        host.Kvm.Detail.Should().StartWith($"{device} is usable (read-write)");
        host.VhostVsock.Should().Be(new HostCapability("vhost-vsock", true, $"{device} is present", null));
        host.TemporaryDirectory.Should().Be(new HostCapability("temporary directory", true, $"{dir.File("vms")} will be created (mode 0700) when the first VM is", null));
        host.Launcher.IsAvailable.Should().BeTrue();
        host.LocalCid.Should().BeNull("there is no vsock device");
        host.AutoVmm.Should().Be(VmmKind.Crosvm);
        host.CanRunVms.Should().BeTrue();
    }

    [Fact(Timeout = 30_000)]
    public async Task ProbeAsync_NothingInstalled_EveryMissingItemHasAFix_AndNoVmmIsPicked()
    {
        using var dir = new TempDir();

        HostCapabilities host = await HostCapabilities.ProbeAsync(new HostProbeOptions
        {
            CrosvmPath = "no-such-crosvm-" + Guid.NewGuid().ToString("N"),
            QemuPath = dir.File("qemu"),
            KvmDevice = dir.File("kvm"),
            VhostVsockDevice = dir.File("vhost-vsock"),
            VsockDevice = dir.File("vsock"),
            LauncherPath = dir.File("vcore-exec"),
            TemporaryDirectory = dir.Path,
        });

        host.Items.Where(i => !i.IsAvailable).Select(i => i.Name).Should().Equal("crosvm", "QEMU", "KVM", "vhost-vsock", "vsock", "launcher");
        host.Items.Where(i => !i.IsAvailable).Should().OnlyContain(i => !string.IsNullOrEmpty(i.Fix));
        host.Crosvm.Detail.Should().EndWith("not found on PATH");
        host.TemporaryDirectory.Should().Be(new HostCapability("temporary directory", true, $"{dir.Path} is writable", null));
        host.AutoVmm.Should().BeNull();
        host.CanRunVms.Should().BeFalse();
    }

    [Fact(Timeout = 90_000)]
    public async Task ProbeAsync_QemuWithoutKvm_AutoPicksQemu_AndTemporaryLinkIsRefused()
    {
        using var dir = new TempDir();
        string link = dir.File("link");
        File.CreateSymbolicLink(link, dir.Path);

        HostCapabilities host = await HostCapabilities.ProbeAsync(new HostProbeOptions
        {
            CrosvmPath = TestPaths.FakeCrosvm,
            QemuPath = TestPaths.FakeCrosvm, // found and executable: what Auto's choice depends on
            KvmDevice = dir.File("kvm"),
            TemporaryDirectory = link,
        });

        host.AutoVmm.Should().Be(VmmKind.Qemu, "crosvm needs KVM and QEMU can emulate");
        host.TemporaryDirectory.IsAvailable.Should().BeFalse();
        host.TemporaryDirectory.Detail.Should().Contain("symbolic link");
        host.CanRunVms.Should().BeFalse("the temporary directory is refused");
    }

    [Theory]
    [InlineData(true, true, true, VmmKind.Crosvm)]
    [InlineData(true, true, false, VmmKind.Qemu)]
    [InlineData(true, false, false, VmmKind.Crosvm)]
    [InlineData(true, false, true, VmmKind.Crosvm)]
    [InlineData(false, true, true, VmmKind.Qemu)]
    [InlineData(false, true, false, VmmKind.Qemu)]
    public void Auto_PicksCrosvmOnlyWithKvm_ElseQemu(bool crosvm, bool qemu, bool kvm, VmmKind expected) =>
        VmmSelection.Pick(crosvm, qemu, kvm).Should().Be(expected);

    [Fact]
    public void Auto_NeitherFound_PicksNothing() => VmmSelection.Pick(false, false, true).Should().BeNull();
}
