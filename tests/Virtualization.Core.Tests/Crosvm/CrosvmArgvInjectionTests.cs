using Microsoft.Extensions.Logging.Abstractions;
using Virtualization.Core.Crosvm;
using Virtualization.Core.Tests.Infrastructure;
using Virtualization.Core.Vmm;

namespace Virtualization.Core.Tests.Crosvm;

/// <summary>
/// Issue #8: crosvm splits every argv element that starts with <c>-</c> and contains <c>=</c> at the first <c>=</c>
/// (crosvm.md §1.2), values included. No user input may turn into an option. These run the fake crosvm, which applies
/// crosvm's split and argh's rules, and check what it parsed.
/// </summary>
public sealed class CrosvmArgvInjectionTests
{
    [Theory(Timeout = 30_000)]
    [InlineData("-x=--protected-vm")]
    [InlineData("-x=--mem")]
    [InlineData("--protected-vm")]
    [InlineData("a=b -c=d")]
    [InlineData("-h")]
    [InlineData("--help")]
    [InlineData("help")]
    [InlineData("--")]
    [InlineData("--host_ip")]
    [InlineData("-p=init=/bin/sh --protected-vm")]
    [InlineData("--params=--protected-vm")]
    [InlineData("=")]
    [InlineData("-")]
    [InlineData(" -x=--protected-vm")]
    public async Task Params_ReachCrosvmAsExactlyOneParamsValue(string kernelParams)
    {
        await using var h = new TestHarness();
        string parsed = Path.Combine(h.Root, "parsed.json");
        var config = new VirtualMachineRawConfig
        {
            Kernel = h.Kernel(new FakeScenario { Parsed = parsed }),
            Params = kernelParams,
            Disks = [new DiskImage(h.File("disk.img"))],
        };

        FakeParsedRun run = await StartAndStopAsync(h, config);

        run.Params.Should().Equal([kernelParams], "Params must reach crosvm as one --params value, byte for byte");
        run.ProtectedVm.Should().BeFalse();
        run.MemoryMib.Should().Be(256, "no --mem was given");
        run.Kernel.Should().Be(config.Kernel);
        run.Disks.Should().ContainSingle().Which.Path.Should().Be(config.Disks[0].Image);
    }

    [Fact]
    public void Build_Params_IsOneElementThatCrosvmSplitsIntoExactlyOptionAndValue()
    {
        var request = new VmmLaunchRequest(
            3, new VirtualMachineRawConfig { Kernel = "/k", Params = "-x=--protected-vm" }, [], "/t", null, NullLogger.Instance);

        List<string> argv = CrosvmCommandLine.Build(request, consoleToStdout: false);

        argv.Should().Contain("--params=-x=--protected-vm").And.NotContain("--params").And.NotContain("--protected-vm");
        argv[^1].Should().Be("/k");
    }

    public static TheoryData<string> AwkwardNames => new()
    {
        "-x=--protected-vm",
        "--mem",
        "-h",
        "a,b=c",
        "q\"uote",
        "it's",
        "sp ace",
        "new\nline",
        "[br]ack",
        "back\\slash",
        "é ünï",
        "-",
    };

    [Theory(Timeout = 30_000)]
    [MemberData(nameof(AwkwardNames))]
    public async Task Paths_WithAwkwardNames_ReachCrosvmIntactAsTheirOwnOptions(string name)
    {
        await using var h = new TestHarness();
        string dir = Path.Combine(h.Root, name + "-dir=,\"'");
        Directory.CreateDirectory(dir);
        string parsed = Path.Combine(h.Root, "parsed.json");
        string kernel = new FakeScenario { Parsed = parsed }.WriteKernel(Path.Combine(dir, name));
        string initrd = Path.Combine(dir, name + ".initrd");
        string ro = Path.Combine(dir, name + ".ro");
        string rw = Path.Combine(dir, name + ".rw");
        foreach (string file in new[] { initrd, ro, rw })
        {
            await File.WriteAllBytesAsync(file, new byte[4096]);
        }

        var config = new VirtualMachineRawConfig
        {
            Kernel = kernel,
            Initrd = initrd,
            Disks = [new DiskImage(ro), new DiskImage(rw, writable: true)],
        };

        FakeParsedRun run = await StartAndStopAsync(h, config);

        run.Kernel.Should().Be(kernel);
        run.Initrd.Should().Be(initrd);
        run.Disks.Select(d => (d.Path, d.ReadOnly)).Should().Equal((ro, true), (rw, false));
        run.Params.Should().BeEmpty();
        run.ProtectedVm.Should().BeFalse();
        run.MemoryMib.Should().Be(256);
        run.Socket.Should().StartWith(h.Options.TemporaryDirectory);
    }

    [Theory(Timeout = 30_000)]
    [InlineData("-x=--protected-vm")]
    [InlineData("a,b=c \"q\" it's")]
    public async Task Bootloader_WithAwkwardName_ReachesCrosvmIntactAsBios(string name)
    {
        await using var h = new TestHarness();
        string parsed = Path.Combine(h.Root, "parsed.json");
        string bios = new FakeScenario { Parsed = parsed }.WriteKernel(Path.Combine(h.Root, name));

        FakeParsedRun run = await StartAndStopAsync(h, new VirtualMachineRawConfig { Bootloader = bios, Params = "-x=--mem" });

        run.Bios.Should().Be(bios);
        run.Kernel.Should().BeNull();
        run.Params.Should().Equal("-x=--mem");
        run.ProtectedVm.Should().BeFalse();
    }

    /// <summary>A relative path is the real injection vector: it could start with '-'. It is made absolute first.</summary>
    [Fact(Timeout = 30_000)]
    public async Task RelativeKernelPath_StartingWithDash_IsMadeAbsoluteAndNeverParsedAsOption()
    {
        await using var h = new TestHarness();
        string parsed = Path.Combine(h.Root, "parsed.json");
        string name = $"-vct-{Guid.NewGuid():N}=--protected-vm";
        string kernel = new FakeScenario { Parsed = parsed }.WriteKernel(Path.Combine(Environment.CurrentDirectory, name));
        try
        {
            FakeParsedRun run = await StartAndStopAsync(h, new VirtualMachineRawConfig { Kernel = name });

            run.Kernel.Should().Be(kernel);
            run.ProtectedVm.Should().BeFalse();
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    private static async Task<FakeParsedRun> StartAndStopAsync(TestHarness h, VirtualMachineRawConfig config)
    {
        IVirtualMachine vm = await h.Service.CreateVmAsync(config);
        await vm.StartAsync();
        h.TrackPid(vm);
        await vm.StopAsync();
        vm.DeathReason.Should().Be(DeathReason.Shutdown, "the fake crosvm accepted the argv and stopped cleanly");
        await vm.DisposeAsync();
        string parsed = Path.Combine(h.Root, "parsed.json");
        return await FakeParsedRun.ReadAsync(parsed);
    }
}
