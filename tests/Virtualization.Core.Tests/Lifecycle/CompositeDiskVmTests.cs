using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Lifecycle;

/// <summary>DiskImage.Partitions through CreateVmAsync: validation first, then assembly in the VM's folder.</summary>
public sealed class CompositeDiskVmTests
{
    [Fact(Timeout = 30_000)]
    public async Task CreateVmAsync_Partitions_BuildsDescriptorInVmFolderAndPassesItToCrosvm()
    {
        await using var h = new TestHarness();
        string record = Path.Combine(h.Root, "argv.json");
        string a = h.File("a.img", 4000);
        string b = h.File("b.img", 4096);
        var config = new VirtualMachineRawConfig
        {
            Kernel = h.Kernel(new FakeScenario { Record = record }),
            Disks = [new DiskImage(null, Writable: true, [new Partition("boot", a, false), new Partition("data", b, true)])],
        };

        IVirtualMachine vm = await h.Service.CreateVmAsync(config);
        string folder = h.Service.DebugListVms()[0].TemporaryDirectory;
        string descriptor = Path.Combine(folder, "composite-0.img");

        CompositeDisk disk = CompositeDisk.Open(descriptor);
        disk.Components.Select(c => c.Offset).Should().Equal(0x0, 0x5000, 0x5FA0, 0x6000, 0x7000);
        disk.Components[1].Path.Should().Be(a, "partition data is referenced, not copied");
        disk.Components[3].Writable.Should().BeTrue();

        await vm.StartAsync();
        h.TrackPid(vm);
        string[] argv = System.Text.Json.JsonSerializer.Deserialize<string[]>(await File.ReadAllTextAsync(record))!;
        argv.Should().Contain($"path={descriptor},ro=false");

        await vm.StopAsync();
        Directory.Exists(folder).Should().BeFalse("the header, footer and descriptor go with the VM's folder");
        File.Exists(a).Should().BeTrue("partition images belong to the caller");
    }

    [Theory(Timeout = 30_000)]
    [InlineData("duplicate-label", "Disks[0].Partitions[1].Label", "boot")]
    [InlineData("missing-image", "Disks[0].Partitions[1].Image", "nope.img")]
    [InlineData("unaligned-writable", "Disks[0].Partitions[0]", "not a multiple of 4096")]
    [InlineData("long-label", "Disks[0].Partitions[0].Label", "36")]
    public async Task CreateVmAsync_BadPartitions_ThrowsNamingThePartitionAndLeavesNothing(string name, string field, string fragment)
    {
        await using var h = new TestHarness();
        string a = h.File("a.img", 4000);
        string b = h.File("b.img", 4096);
        IReadOnlyList<Partition> partitions = name switch
        {
            "duplicate-label" => [new Partition("boot", a, false), new Partition("boot", b, false)],
            "missing-image" => [new Partition("boot", a, false), new Partition("data", Path.Combine(h.Root, "nope.img"), false)],
            "unaligned-writable" => [new Partition("boot", a, true)],
            "long-label" => [new Partition(new string('x', 37), a, false)],
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };
        var config = new VirtualMachineRawConfig { Kernel = h.Kernel(), Disks = [new DiskImage(null, false, partitions)] };

        Func<Task> create = () => h.Service.CreateVmAsync(config);

        var e = (await create.Should().ThrowAsync<VirtualMachineConfigException>()).Which;
        e.Field.Should().StartWith(field);
        e.Message.Should().Contain(fragment);
        h.Service.HeldCidCount.Should().Be(0);
        (Directory.Exists(h.Options.TemporaryDirectory) ? Directory.GetFileSystemEntries(h.Options.TemporaryDirectory) : []).Should().BeEmpty();
    }
}
