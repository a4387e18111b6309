using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Lifecycle;

public sealed class ConfigValidationTests
{
    public static TheoryData<string, string, string> InvalidConfigs => new()
    {
        // case, field, message fragment
        { "no-kernel-no-bootloader", "Kernel", "neither" },
        { "kernel-and-bootloader", "Bootloader", "leave Kernel and Initrd unset" },
        { "initrd-with-bootloader", "Bootloader", "leave Kernel and Initrd unset" },
        { "missing-kernel", "Kernel", "does not exist" },
        { "kernel-is-directory", "Kernel", "is a directory" },
        { "missing-initrd", "Initrd", "does not exist" },
        { "params-non-ascii", "Params", "printable ASCII" },
        { "params-newline", "Params", "printable ASCII" },
        { "params-too-long", "Params", "at most" },
        { "negative-memory", "MemoryMib", "negative" },
        { "negative-cpus", "CpuCount", "negative" },
        { "disk-neither", "Disks[0]", "neither" },
        { "disk-both", "Disks[0]", "both" },
        { "disk-missing", "Disks[1].Image", "does not exist" },
        { "disk-null", "Disks[0]", "null" },
    };

    [Theory(Timeout = 30_000)]
    [MemberData(nameof(InvalidConfigs))]
    public async Task CreateVmAsync_InvalidConfig_ThrowsNamingFieldAndLeavesNothing(string name, string field, string fragment)
    {
        await using var h = new TestHarness();
        string kernel = h.Kernel();
        string disk = h.File("disk.img");
        VirtualMachineRawConfig config = name switch
        {
            "no-kernel-no-bootloader" => new VirtualMachineRawConfig(),
            "kernel-and-bootloader" => new VirtualMachineRawConfig { Kernel = kernel, Bootloader = disk },
            "initrd-with-bootloader" => new VirtualMachineRawConfig { Initrd = disk, Bootloader = disk },
            "missing-kernel" => new VirtualMachineRawConfig { Kernel = Path.Combine(h.Root, "nope") },
            "kernel-is-directory" => new VirtualMachineRawConfig { Kernel = h.Root },
            "missing-initrd" => new VirtualMachineRawConfig { Kernel = kernel, Initrd = Path.Combine(h.Root, "nope") },
            "params-non-ascii" => new VirtualMachineRawConfig { Kernel = kernel, Params = "console=ttyS0 é" },
            "params-newline" => new VirtualMachineRawConfig { Kernel = kernel, Params = "a\nb" },
            "params-too-long" => new VirtualMachineRawConfig { Kernel = kernel, Params = new string('a', 2048) },
            "negative-memory" => new VirtualMachineRawConfig { Kernel = kernel, MemoryMib = -1 },
            "negative-cpus" => new VirtualMachineRawConfig { Kernel = kernel, CpuCount = -2 },
            "disk-neither" => new VirtualMachineRawConfig { Kernel = kernel, Disks = [new DiskImage(null, false, [])] },
            "disk-both" => new VirtualMachineRawConfig { Kernel = kernel, Disks = [new DiskImage(disk, false, [new Partition("a", disk, false)])] },
            "disk-missing" => new VirtualMachineRawConfig { Kernel = kernel, Disks = [new DiskImage(disk), new DiskImage(Path.Combine(h.Root, "nope"))] },
            "disk-null" => new VirtualMachineRawConfig { Kernel = kernel, Disks = [null!] },
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };

        Func<Task> create = () => h.Service.CreateVmAsync(config);

        var thrown = (await create.Should().ThrowAsync<VirtualMachineConfigException>()).Which;
        thrown.Field.Should().Be(field);
        thrown.ParamName.Should().Be(field);
        thrown.Message.Should().Contain(fragment);
        thrown.Should().BeAssignableTo<ArgumentException>();
        h.Service.HeldCidCount.Should().Be(0);
        (Directory.Exists(h.Options.TemporaryDirectory) ? Directory.GetFileSystemEntries(h.Options.TemporaryDirectory) : []).Should().BeEmpty();
        h.Service.DebugListVms().Should().BeEmpty();
    }

    /// <summary>Root reads any file, so this runs only as another user (CI runs it as nobody: see .ci/run).</summary>
    [SkippableFact(Timeout = 30_000)]
    [Trait("Requires", "non-root")]
    public async Task CreateVmAsync_UnreadableKernel_ThrowsPermissionDeniedAndLeavesNothing()
    {
        Skip.If(Environment.IsPrivilegedProcess, "running as root: file permissions do not stop root from reading");
        await using var h = new TestHarness();
        string kernel = Unreadable(h.Kernel());

        Func<Task> create = () => h.Service.CreateVmAsync(new VirtualMachineRawConfig { Kernel = kernel });

        var thrown = (await create.Should().ThrowAsync<VirtualMachineConfigException>()).Which;
        thrown.Field.Should().Be("Kernel");
        thrown.Message.Should().Contain("permission denied");
        h.Service.HeldCidCount.Should().Be(0);
        h.Service.DebugListVms().Should().BeEmpty();
    }

    [Fact(Timeout = 30_000)]
    public async Task CreateVmAsync_ParamsAtLimit_IsAccepted()
    {
        await using var h = new TestHarness();
        IVirtualMachine vm = await h.Service.CreateVmAsync(new VirtualMachineRawConfig { Kernel = h.Kernel(), Params = new string('a', 2048 - 64) });
        vm.State.Should().Be(VirtualMachineState.NotStarted);
    }

    [Fact(Timeout = 30_000)]
    public async Task CreateVmAsync_RelativePaths_ResolveAgainstCurrentDirectoryAtCreateTime()
    {
        await using var h = new TestHarness();
        string record = Path.Combine(h.Root, "argv.json");
        string kernel = h.Kernel(new FakeScenario { Record = record });
        string relative = Path.GetRelativePath(Environment.CurrentDirectory, kernel);
        relative.Should().NotStartWith("/");

        IVirtualMachine vm = await h.Service.CreateVmAsync(new VirtualMachineRawConfig { Kernel = relative });
        await vm.StartAsync();
        h.TrackPid(vm);

        string[] argv = System.Text.Json.JsonSerializer.Deserialize<string[]>(await File.ReadAllTextAsync(record))!;
        argv[^1].Should().Be(kernel);
        await vm.StopAsync();
    }

    [Fact(Timeout = 30_000)]
    public async Task CreateVmAsync_UnsupportedConsoleStream_Throws()
    {
        await using var h = new TestHarness();
        using var readOnly = new MemoryStream([], writable: false);
        Func<Task> create = () => h.Service.CreateVmAsync(h.Config(), readOnly);
        await create.Should().ThrowAsync<ArgumentException>().WithParameterName("consoleOutput");
        h.Service.HeldCidCount.Should().Be(0);
    }

    private static string Unreadable(string path)
    {
        File.SetUnixFileMode(path, UnixFileMode.None);
        return path;
    }
}
