using Microsoft.Extensions.Logging.Abstractions;
using Virtualization.Core.Crosvm;
using Virtualization.Core.Tests.Infrastructure;
using Virtualization.Core.Vmm;

namespace Virtualization.Core.Tests.Crosvm;

public sealed class CrosvmCommandLineTests
{
    [Fact]
    public void Build_FullConfig_ProducesCrosvmOrderWithKernelLast()
    {
        var config = new VirtualMachineRawConfig
        {
            Kernel = "/k/vmlinuz",
            Initrd = "/k/initrd",
            Params = "console=ttyS0 quiet",
            MemoryMib = 512,
            CpuCount = 2,
            Protected = true,
        };
        var request = new VmmLaunchRequest(42, config, [new VmmDisk("/d/a.img", false), new VmmDisk("/d/b,c.img", true)], "/tmp/vm-42", null, NullLogger.Instance);

        List<string> argv = CrosvmCommandLine.Build(request, consoleToStdout: true);

        argv.Should().Equal(
            "--extended-status", "run", "--disable-sandbox", "--vsock", "cid=42", "--mem", "512", "--cpus", "2", "--protected-vm",
            "--serial", "type=stdout,hardware=serial,num=1,console=true,stdin=true", "--socket", "/tmp/vm-42/crosvm.sock",
            "--initrd", "/k/initrd", "--params=console=ttyS0 quiet",
            "--block", "path=/d/a.img,ro=true", "--block", "path=\"/d/b,c.img\",ro=false",
            "/k/vmlinuz");
    }

    [Fact]
    public void Build_BootloaderWithoutConsole_SinksSerialAndHasNoKernel()
    {
        var config = new VirtualMachineRawConfig { Bootloader = "/b/bios.bin" };
        var request = new VmmLaunchRequest(10, config, [], "/t", null, NullLogger.Instance);

        List<string> argv = CrosvmCommandLine.Build(request, consoleToStdout: false);

        argv.Should().Equal(
            "--extended-status", "run", "--disable-sandbox", "--vsock", "cid=10", "--serial", "type=sink,hardware=serial,num=1",
            "--socket", "/t/crosvm.sock", "--bios", "/b/bios.bin");
    }

    [Theory]
    [InlineData("disk.img", "disk")]
    [InlineData("-x=--protected-vm", "disk")]
    [InlineData("", "disk")]
    public void Build_RelativeDiskPath_IsRefusedLoudly_NotPassedToCrosvm(string path, string what)
    {
        // Validation makes every path absolute; this guards against a slip that would let crosvm read a path as an option.
        var request = new VmmLaunchRequest(3, new VirtualMachineRawConfig { Kernel = "/k" }, [new VmmDisk(path, false)], "/tmp/vm-3", null, NullLogger.Instance);

        Action build = () => CrosvmCommandLine.Build(request, consoleToStdout: true);

        build.Should().Throw<ArgumentException>().Which.Message.Should().Be(
            $"The {what} path '{path}' is not absolute; crosvm could read it as an option. Paths are made absolute during validation. (Parameter 'path')");
    }

    [Fact]
    public void Build_RelativeTemporaryFolder_IsRefusedNamingTheControlSocket()
    {
        var request = new VmmLaunchRequest(3, new VirtualMachineRawConfig { Kernel = "/k" }, [], "vm-3", null, NullLogger.Instance);

        Action build = () => CrosvmCommandLine.Build(request, consoleToStdout: true);

        build.Should().Throw<ArgumentException>().Which.Message.Should().StartWith("The control socket path 'vm-3/crosvm.sock' is not absolute;");
    }

    [Theory]
    [InlineData("/plain/path.img", "/plain/path.img")]
    [InlineData("/with space/é.img", "/with space/é.img")]
    [InlineData("/a=b/c.img", "/a=b/c.img")]
    [InlineData("/a,b.img", "\"/a,b.img\"")]
    [InlineData("/q\"uote.img", "\"/q\\\"uote.img\"")]
    [InlineData("/back\\slash,x", "\"/back\\\\slash,x\"")]
    [InlineData("/br[ack]et", "\"/br[ack]et\"")]
    [InlineData("/it's", "\"/it's\"")]
    public void Quote_FollowsSerdeKeyValueRules(string value, string expected) =>
        CrosvmKeyValue.Quote(value).Should().Be(expected);

    [Fact(Timeout = 30_000)]
    public async Task FakeCrosvm_AcceptsOurArgv_ForAwkwardPaths()
    {
        await using var h = new TestHarness();
        string dir = Path.Combine(h.Root, "we,ird [dir] \"q\" it's");
        Directory.CreateDirectory(dir);
        string disk = Path.Combine(dir, "disk,1.img");
        string disk2 = Path.Combine(dir, "disk\\2.img");
        await File.WriteAllBytesAsync(disk, new byte[4096]);
        await File.WriteAllBytesAsync(disk2, new byte[4096]);
        string record = Path.Combine(h.Root, "argv.json");
        string kernel = new FakeScenario { Record = record }.WriteKernel(Path.Combine(dir, "kernel"));
        var config = new VirtualMachineRawConfig
        {
            Kernel = kernel,
            Initrd = disk,
            Params = "console=ttyS0 a=\"b c\"",
            MemoryMib = 300,
            CpuCount = 2,
            Disks = [new DiskImage(disk, writable: true), new DiskImage(disk2)],
        };

        IVirtualMachine vm = await h.Service.CreateVmAsync(config);
        await vm.StartAsync();
        h.TrackPid(vm);
        await vm.StopAsync();

        vm.DeathReason.Should().Be(DeathReason.Shutdown, "the fake accepted the argv and stopped cleanly");
        string[] argv = System.Text.Json.JsonSerializer.Deserialize<string[]>(await File.ReadAllTextAsync(record))!;
        // Written out (serde_keyvalue: a value with , " \ [ ] ' is double-quoted, with " and \ escaped), not computed by Quote.
        argv.Should().Contain($"path=\"{h.Root}/we,ird [dir] \\\"q\\\" it's/disk,1.img\",ro=false")
            .And.Contain($"path=\"{h.Root}/we,ird [dir] \\\"q\\\" it's/disk\\\\2.img\",ro=true");
        argv[^1].Should().Be(kernel);
    }

    [Fact(Timeout = 30_000)]
    public async Task FakeCrosvm_RejectsUnknownFlag_WithExit35()
    {
        (int exitCode, _, string stderr) = await TestProcess.RunAsync(TestPaths.FakeCrosvm, "run", "--no-such-flag", "/k");

        exitCode.Should().Be(35);
        stderr.Should().Contain("Unrecognized argument: --no-such-flag");
    }
}
