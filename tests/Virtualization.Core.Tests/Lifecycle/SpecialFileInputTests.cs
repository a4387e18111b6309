using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Lifecycle;

/// <summary>
/// Issue #7: paths that name something other than a regular file (or, for disks, a block device) are refused by
/// <c>CreateVmAsync</c> without opening them in a way that can block (a FIFO with no writer blocks a plain open forever).
/// </summary>
public sealed class SpecialFileInputTests
{
    public static TheoryData<string, string> FifoFields => new()
    {
        // field, message fragment
        { "Kernel", "is a FIFO; Kernel must be a regular file" },
        { "Initrd", "is a FIFO; Initrd must be a regular file" },
        { "Bootloader", "is a FIFO; Bootloader must be a regular file" },
        { "Disks[0].Image", "is a FIFO; a disk image must be a regular file or a block device" },
        { "Disks[1].Image", "is a FIFO; a disk image must be a regular file or a block device" },
        { "Disks[0].Partitions[1].Image", "is a FIFO; a partition image must be a regular file or a block device" },
    };

    /// <summary>
    /// The create runs on another thread: before the fix it blocked in open(2) and never returned, so this test failed
    /// by its Timeout instead of hanging the thread that runs it.
    /// </summary>
    [Theory(Timeout = 30_000)]
    [MemberData(nameof(FifoFields))]
    public async Task CreateVmAsync_FifoInField_ThrowsNamingFieldAndReturns(string field, string fragment)
    {
        await using var h = new TestHarness();
        string fifo = await SpecialFiles.FifoAsync(Path.Combine(h.Root, "fifo"));
        string kernel = h.Kernel();
        string file = h.File("regular.img");
        VirtualMachineRawConfig config = field switch
        {
            "Kernel" => new() { Kernel = fifo },
            "Initrd" => new() { Kernel = kernel, Initrd = fifo },
            "Bootloader" => new() { Bootloader = fifo },
            "Disks[0].Image" => new() { Kernel = kernel, Disks = [new DiskImage(fifo)] },
            "Disks[1].Image" => new() { Kernel = kernel, Disks = [new DiskImage(file), new DiskImage(fifo, writable: true)] },
            "Disks[0].Partitions[1].Image" => new()
            {
                Kernel = kernel,
                Disks = [new DiskImage(null, false, [new Partition("a", file, false), new Partition("b", fifo, false)])],
            },
            _ => throw new ArgumentOutOfRangeException(nameof(field)),
        };

        Func<Task> create = () => Task.Run(() => h.Service.CreateVmAsync(config));

        VirtualMachineConfigException thrown = (await create.Should().ThrowAsync<VirtualMachineConfigException>()).Which;
        thrown.Field.Should().Be(field);
        thrown.Message.Should().Contain(fragment).And.Contain(fifo);
        h.Service.HeldCidCount.Should().Be(0);
        h.Service.DebugListVms().Should().BeEmpty();
    }

    [Fact(Timeout = 30_000)]
    public async Task CreateVmAsync_SymlinkToFifo_IsRefusedAsFifo()
    {
        await using var h = new TestHarness();
        string fifo = await SpecialFiles.FifoAsync(Path.Combine(h.Root, "fifo"));
        string link = Path.Combine(h.Root, "kernel-link");
        File.CreateSymbolicLink(link, fifo);

        Func<Task> create = () => Task.Run(() => h.Service.CreateVmAsync(new VirtualMachineRawConfig { Kernel = link }));

        VirtualMachineConfigException thrown = (await create.Should().ThrowAsync<VirtualMachineConfigException>()).Which;
        thrown.Field.Should().Be("Kernel");
        thrown.Message.Should().Contain("is a FIFO; Kernel must be a regular file");
    }

    [Fact(Timeout = 30_000)]
    public async Task CreateVmAsync_DevNullAsKernel_IsRefusedAsCharacterDevice()
    {
        await using var h = new TestHarness();

        Func<Task> create = () => h.Service.CreateVmAsync(new VirtualMachineRawConfig { Kernel = "/dev/null" });

        VirtualMachineConfigException thrown = (await create.Should().ThrowAsync<VirtualMachineConfigException>()).Which;
        thrown.Field.Should().Be("Kernel");
        thrown.Message.Should().Contain("'/dev/null' is a character device; Kernel must be a regular file");
    }

    [Fact(Timeout = 30_000)]
    public async Task CreateVmAsync_DevNullAsDisk_IsRefusedAsCharacterDevice()
    {
        await using var h = new TestHarness();

        Func<Task> create = () => h.Service.CreateVmAsync(new VirtualMachineRawConfig { Kernel = h.Kernel(), Disks = [new DiskImage("/dev/null")] });

        VirtualMachineConfigException thrown = (await create.Should().ThrowAsync<VirtualMachineConfigException>()).Which;
        thrown.Field.Should().Be("Disks[0].Image");
        thrown.Message.Should().Contain("is a character device; a disk image must be a regular file or a block device");
    }

    [Fact(Timeout = 30_000)]
    public async Task CreateVmAsync_SocketAsInitrd_IsRefusedAsSocket()
    {
        await using var h = new TestHarness();
        string socket = Path.Combine(h.Root, "s.sock");
        using var bound = SpecialFiles.BoundSocket(socket);

        Func<Task> create = () => h.Service.CreateVmAsync(new VirtualMachineRawConfig { Kernel = h.Kernel(), Initrd = socket });

        VirtualMachineConfigException thrown = (await create.Should().ThrowAsync<VirtualMachineConfigException>()).Which;
        thrown.Field.Should().Be("Initrd");
        thrown.Message.Should().Contain("is a socket; Initrd must be a regular file");
    }

    [Fact(Timeout = 30_000)]
    public async Task CreateVmAsync_DirectoryAsPartition_IsRefusedNamingThePartition()
    {
        await using var h = new TestHarness();

        Func<Task> create = () => h.Service.CreateVmAsync(new VirtualMachineRawConfig
        {
            Kernel = h.Kernel(),
            Disks = [new DiskImage(null, false, [new Partition("root", h.Root, false)])],
        });

        VirtualMachineConfigException thrown = (await create.Should().ThrowAsync<VirtualMachineConfigException>()).Which;
        thrown.Field.Should().Be("Disks[0].Partitions[0].Image");
        thrown.Message.Should().Contain("is a directory; a partition image must be a regular file or a block device");
    }

    [SkippableFact(Timeout = 60_000)]
    public async Task CreateVmAsync_LoopBlockDevice_IsAcceptedAsDiskAndPartitionButNotAsKernel()
    {
        await using var h = new TestHarness();
        string backing = h.File("loop-backing.img", 1024 * 1024);
        (string? device, string reason) = await SpecialFiles.TryAttachLoopAsync(backing);
        Skip.If(device is null, reason);
        try
        {
            string parsed = Path.Combine(h.Root, "parsed.json");
            var config = new VirtualMachineRawConfig
            {
                Kernel = h.Kernel(new FakeScenario { Parsed = parsed }),
                Disks =
                [
                    new DiskImage(device!, writable: true),
                    new DiskImage(null, false, [new Partition("blk", device!, false)]),
                ],
            };

            IVirtualMachine vm = await h.Service.CreateVmAsync(config);
            await vm.StartAsync();
            h.TrackPid(vm);
            await vm.StopAsync();
            vm.DeathReason.Should().Be(DeathReason.Shutdown);

            FakeParsedRun run = await FakeParsedRun.ReadAsync(parsed);
            run.Disks.Should().HaveCount(2);
            run.Disks[0].Path.Should().Be(device);
            run.Disks[0].ReadOnly.Should().BeFalse();
            Path.GetFileName(run.Disks[1].Path).Should().Be("composite-1.img", "the partition is assembled into a composite disk");
            await vm.DisposeAsync();

            Func<Task> asKernel = () => h.Service.CreateVmAsync(new VirtualMachineRawConfig { Kernel = device });
            VirtualMachineConfigException thrown = (await asKernel.Should().ThrowAsync<VirtualMachineConfigException>()).Which;
            thrown.Field.Should().Be("Kernel");
            thrown.Message.Should().Contain("is a block device; Kernel must be a regular file");
        }
        finally
        {
            await SpecialFiles.DetachLoopAsync(device!);
        }
    }
}
