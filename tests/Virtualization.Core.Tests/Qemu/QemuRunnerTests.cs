using Microsoft.Extensions.Logging;
using Virtualization.Core.Disks;
using Virtualization.Core.Qemu;
using Virtualization.Core.Tests.Infrastructure;
using Virtualization.Core.Vmm;

namespace Virtualization.Core.Tests.Qemu;

/// <summary>
/// <see cref="QemuRunner.LaunchAsync"/> with a shell script in place of QEMU: what it is given (acceleration, the QMP
/// socket in the VM's folder) and the process it hands back (watching that socket). No QEMU.
/// </summary>
public sealed class QemuRunnerTests
{
    [Theory(Timeout = 60_000)]
    [InlineData(VmAcceleration.Tcg, "tcg")]
    [InlineData(VmAcceleration.Kvm, "kvm")]
    [InlineData(VmAcceleration.Auto, null)]
    public async Task LaunchAsync_RemovesAStaleSocket_AndRunsQemuWithTheChosenAccelerator(VmAcceleration acceleration, string? accel)
    {
        accel ??= KvmOpens() ? "kvm" : "tcg"; // Auto: KVM when /dev/kvm opens for reading and writing
        using var temp = new TempDir("vct-qemu-runner-");
        string folder = temp.Path;
        string args = Path.Combine(folder, "args");
        string qemu = WriteScript(folder, $"printf '%s\\n' \"$@\" > '{args}'\nexit 0\n");
        string vmFolder = Directory.CreateDirectory(Path.Combine(folder, "vm-7")).FullName;
        File.WriteAllText(Path.Combine(vmFolder, "qmp.sock"), "left by a QEMU that was killed");
        var log = new ListLogger();
        var request = new VmmLaunchRequest(7, new VirtualMachineRawConfig { Kernel = "/k/vmlinuz", MemoryMib = 300 }, [], vmFolder, null, log);

        IVmmProcess process = await new QemuRunner(qemu, acceleration, TimeSpan.FromSeconds(10)).LaunchAsync(request, CancellationToken.None);
        File.Exists(Path.Combine(vmFolder, "qmp.sock")).Should().BeFalse("a stale socket would make QEMU fail with EADDRINUSE");
        process.Should().BeOfType<QemuProcess>();
        await process.WaitUntilReadyAsync(CancellationToken.None); // exit 0: it ran
        (await process.Exited).Should().Be(new VmmExit(0, DeathReason.Shutdown));

        string[] argv = File.ReadAllLines(args);
        argv.Should().ContainInConsecutiveOrder("-accel", accel);
        argv.Should().ContainInConsecutiveOrder("-qmp", $"unix:{vmFolder}/qmp.sock,server=on,wait=off");
        if (!File.Exists("/dev/vhost-vsock"))
        {
            argv.Should().NotContain("vhost-vsock-device,guest-cid=7");
            log.Entries.Should().ContainSingle(e => e.Level == LogLevel.Warning).Which.Message.Should().Be(
                "/dev/vhost-vsock is missing (load vhost_vsock), so the guest gets no vsock device and ConnectVsockAsync will not reach it");
        }
        else
        {
            argv.Should().ContainInConsecutiveOrder("-device", "vhost-vsock-device,guest-cid=7");
            log.Entries.Should().NotContain(e => e.Level == LogLevel.Warning);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task LaunchAsync_ProcessWatchesTheQmpSocketInTheVmFolder_WithTheGuestMemory()
    {
        using var temp = new TempDir("vct-qemu-runner-");
        string folder = temp.Path;
        string qemu = WriteScript(folder, "exec sleep 600\n");
        string vmFolder = Directory.CreateDirectory(Path.Combine(folder, "vm-8")).FullName;
        var request = new VmmLaunchRequest(8, new VirtualMachineRawConfig { Kernel = "/k/vmlinuz", MemoryMib = 300 }, [], vmFolder, null, new ListLogger());
        IVmmProcess process = await new QemuRunner(qemu, VmAcceleration.Tcg, TimeSpan.FromSeconds(10)).LaunchAsync(request, CancellationToken.None);
        await using var server = new ScriptedQmpServer(Path.Combine(vmFolder, "qmp.sock"));
        try
        {
            Task<ScriptedQmpConnection> accepted = server.AcceptNegotiatedAsync();
            await process.WaitUntilReadyAsync(CancellationToken.None);
            ScriptedQmpConnection connection = await accepted;
            (await connection.ReadLineAsync()).Should().StartWith("{\"execute\":\"qom-set\"");

            // No balloon: QEMU is asked to leave the guest all of its 300 MiB.
            Task balloon = process.SetBalloonAsync(0, CancellationToken.None);
            (await connection.ReadLineAsync()).Should().Be("{\"execute\":\"balloon\",\"arguments\":{\"value\":314572800},\"id\":2}\n");
            await connection.SendLineAsync("{\"return\": {}, \"id\": 2}");
            await balloon;
        }
        finally
        {
            process.Kill();
            server.CloseConnections();
            await process.Exited;
        }
    }

    [Fact]
    public void Runner_NameAndKernelCommandLineLimit()
    {
        var runner = new QemuRunner("/usr/bin/qemu-system-x86_64", VmAcceleration.Tcg, TimeSpan.FromSeconds(10));

        runner.Name.Should().Be("qemu");
        runner.MaxParamsLength.Should().Be(1984, "Linux's 2048-byte x86 command line, less 64 for what is prepended");
    }

    [Fact]
    public void KvmUsable_IsWhetherTheDeviceOpensForReadingAndWriting()
    {
        using var dir = new TempDir();
        string file = dir.File("kvm");
        File.WriteAllText(file, string.Empty);

        QemuRunner.KvmUsable(file).Should().BeTrue();
        QemuRunner.KvmUsable(dir.File("absent")).Should().BeFalse("a missing device (IOException)");
        QemuRunner.KvmUsable(dir.Path).Should().BeFalse("a folder (UnauthorizedAccessException)");
    }

    [Fact]
    public void Validate_Protected_IsRefused()
    {
        Action validate = () => Runner().Validate(new VirtualMachineRawConfig { Kernel = "/k", Protected = true });

        VirtualMachineConfigException e = validate.Should().Throw<VirtualMachineConfigException>().Which;
        e.Field.Should().Be("Protected");
        e.Message.Should().Be("Invalid VM configuration: Protected: protected VMs need crosvm with pKVM; QEMU cannot run them. (Parameter 'Protected')");
    }

    [SkippableFact]
    public void Validate_VsockTransportWithoutVhostVsock_IsRefusedNamingTheTransport()
    {
        Skip.If(File.Exists("/dev/vhost-vsock"), "/dev/vhost-vsock is present, so the vsock transport is allowed here");

        Action validate = () => Runner().Validate(new VirtualMachineRawConfig
        {
            Kernel = "/k",
            PayloadChannel = new PayloadChannelOptions { Transport = PayloadTransport.Vsock },
        });

        VirtualMachineConfigException e = validate.Should().Throw<VirtualMachineConfigException>().Which;
        e.Field.Should().Be("PayloadChannel.Transport");
        e.Message.Should().StartWith("Invalid VM configuration: PayloadChannel.Transport: the vsock transport needs /dev/vhost-vsock on the host");
    }

    [Fact]
    public void Validate_WritablePartition_IsRefusedNamingItsDisk_ReadOnlyPartitionsAndImagesAreFine()
    {
        var readOnly = new DiskImage(null, false, [new Partition("boot", "/p/boot.img", false), new Partition("root", "/p/root.img", false)]);
        var writable = new DiskImage(null, false, [new Partition("boot", "/p/boot.img", false), new Partition("data", "/p/data.img", true)]);
        QemuRunner runner = Runner();

        runner.Validate(new VirtualMachineRawConfig { Kernel = "/k", Disks = [new DiskImage("/img/a.raw", writable: true), readOnly] });
        Action validate = () => runner.Validate(new VirtualMachineRawConfig { Kernel = "/k", Disks = [new DiskImage("/img/a.raw", writable: true), readOnly, writable] });

        VirtualMachineConfigException e = validate.Should().Throw<VirtualMachineConfigException>().Which;
        e.Field.Should().Be("Disks[2].Partitions");
        e.Message.Should().Be(
            "Invalid VM configuration: Disks[2].Partitions: partition 'data' is writable, but QEMU cannot read composite disks, so partitions are copied into one raw "
            + "image and writes would be lost. Use crosvm, or make the partition read-only. (Parameter 'Disks[2].Partitions')");
    }

    [Fact(Timeout = 60_000)]
    public async Task PrepareDisks_PartitionedDisk_IsARawGptImageNamedAfterItsIndex()
    {
        using var dir = new TempDir();
        string partition = dir.CreateImage("part.img", 8192, 7);
        var disk = new DiskImage(null, false, [new Partition("data", partition, false)]);
        var config = new VirtualMachineRawConfig { Kernel = "/k", Disks = [new DiskImage("/img/a.raw"), disk] };
        string folder = Directory.CreateDirectory(dir.File("vm")).FullName;

        VmmDisk[] disks = await Runner().PrepareDisksAsync(
            config, [null, CompositeDiskBuilder.Validate(disk.Partitions)], folder, CancellationToken.None);

        disks.Should().Equal(new VmmDisk("/img/a.raw", false), new VmmDisk(Path.Combine(folder, "disk-1.img"), false));
        new FileInfo(disks[1].Path).Length.Should().BeGreaterThan(8192, "the GPT image holds the partition and its tables");
    }

    private static QemuRunner Runner() => new("/usr/bin/qemu-system-x86_64", VmAcceleration.Tcg, TimeSpan.FromSeconds(10));

    private static bool KvmOpens()
    {
        try
        {
            using FileStream kvm = new("/dev/kvm", FileMode.Open, FileAccess.ReadWrite);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static string WriteScript(string folder, string body) => ShellScript.Write(Path.Combine(folder, "fake-qemu"), body);
}
