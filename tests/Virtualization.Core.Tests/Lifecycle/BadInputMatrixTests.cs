using Virtualization.Core.Disks;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Lifecycle;

/// <summary>
/// The bad-input matrix of docs/reliability.md (Bad-input matrix), cell by cell, through <c>CreateVmAsync</c> and the fake crosvm:
/// a rejected cell throws <see cref="VirtualMachineConfigException"/> naming the field and leaves nothing behind (the
/// harness checks); an accepted cell starts the VM and checks that the value reached crosvm intact.
/// </summary>
public sealed class BadInputMatrixTests
{
    private const string Awkward = BadInputContext.AwkwardName;
    private const string NonAscii = BadInputContext.NonAsciiName;
    private const string RegularKernel = "must be a regular file";
    private const string DiskRule = "a disk image must be a regular file or a block device";
    private const string PartitionRule = "a partition image must be a regular file or a block device";

    private static readonly string HugePath = "/" + string.Join('/', Enumerable.Repeat(new string('p', 200), 25));

    private static readonly BadInputCell[] s_cells =
    [
        // Kernel
        Reject("Kernel=null", c => new() { Kernel = null }, "Kernel", "neither is set"),
        Reject("Kernel=empty", c => new() { Kernel = "" }, "Kernel", "is an empty path"),
        Reject("Kernel=spaces", c => new() { Kernel = "   " }, "Kernel", "does not exist"),
        Reject("Kernel=NUL", c => new() { Kernel = "/a\0b" }, "Kernel", "NUL character"),
        Reject("Kernel=missing", c => new() { Kernel = c.Missing }, "Kernel", "does not exist"),
        Reject("Kernel=huge", c => new() { Kernel = HugePath }, "Kernel", "cannot be opened: File name too long (errno 36)."),
        Reject("Kernel=directory", c => new() { Kernel = c.H.Root }, "Kernel", "is a directory; Kernel " + RegularKernel),
        Reject("Kernel=FIFO", async c => new() { Kernel = await c.FifoAsync() }, "Kernel", "is a FIFO; Kernel " + RegularKernel),
        Reject("Kernel=socket", c => new() { Kernel = c.Socket() }, "Kernel", "is a socket; Kernel " + RegularKernel),
        Reject("Kernel=/dev/null", c => new() { Kernel = "/dev/null" }, "Kernel", "is a character device; Kernel " + RegularKernel),
        Reject("Kernel=dangling symlink", c => new() { Kernel = c.Symlink(c.Missing) }, "Kernel", "does not exist"),
        Reject("Kernel=symlink to FIFO", async c => new() { Kernel = c.Symlink(await c.FifoAsync()) }, "Kernel", "is a FIFO"),
        Accept("Kernel=symlink", c => new() { Kernel = c.Symlink(c.Kernel) }, (cfg, run) => run.Kernel.Should().Be(cfg.Kernel, "the link itself is passed")),
        Accept("Kernel=awkward", c => new() { Kernel = c.Scenario(Path.Combine(c.AwkwardDirectory, Awkward)) }, KernelIntact),
        Accept("Kernel=non-ASCII", c => new() { Kernel = c.Scenario(Path.Combine(c.H.Root, NonAscii)) }, KernelIntact),
        Accept("Kernel=relative", c => new() { Kernel = Path.GetRelativePath(Environment.CurrentDirectory, c.Kernel) }, (cfg, run) =>
        {
            run.Kernel.Should().StartWith("/").And.Be(Path.GetFullPath(cfg.Kernel!));
        }),

        // Initrd
        Accept("Initrd=null", c => new() { Kernel = c.Kernel }, (_, run) => run.Initrd.Should().BeNull()),
        Reject("Initrd=empty", c => new() { Kernel = c.Kernel, Initrd = "" }, "Initrd", "is an empty path"),
        Reject("Initrd=directory", c => new() { Kernel = c.Kernel, Initrd = c.H.Root }, "Initrd", "is a directory; Initrd " + RegularKernel),
        Reject("Initrd=FIFO", async c => new() { Kernel = c.Kernel, Initrd = await c.FifoAsync() }, "Initrd", "is a FIFO; Initrd " + RegularKernel),
        Reject("Initrd=/dev/zero", c => new() { Kernel = c.Kernel, Initrd = "/dev/zero" }, "Initrd", "is a character device"),
        Reject("Initrd=with Bootloader", c => new() { Bootloader = c.Kernel, Initrd = c.File() }, "Bootloader", "leave Kernel and Initrd unset"),
        Accept("Initrd=awkward", c => new() { Kernel = c.Kernel, Initrd = BadInputContext.File(Path.Combine(c.AwkwardDirectory, Awkward)) }, (cfg, run) => run.Initrd.Should().Be(cfg.Initrd)),
        Accept("Initrd=non-ASCII", c => new() { Kernel = c.Kernel, Initrd = BadInputContext.File(Path.Combine(c.H.Root, NonAscii)) }, (cfg, run) => run.Initrd.Should().Be(cfg.Initrd)),

        // Bootloader
        Reject("Bootloader=empty", c => new() { Bootloader = "" }, "Bootloader", "is an empty path"),
        Reject("Bootloader=with Kernel", c => new() { Kernel = c.Kernel, Bootloader = c.File() }, "Bootloader", "leave Kernel and Initrd unset"),
        Reject("Bootloader=FIFO", async c => new() { Bootloader = await c.FifoAsync() }, "Bootloader", "is a FIFO; Bootloader " + RegularKernel),
        Reject("Bootloader=directory", c => new() { Bootloader = c.H.Root }, "Bootloader", "is a directory"),
        Accept("Bootloader=awkward", c => new() { Bootloader = c.Scenario(Path.Combine(c.AwkwardDirectory, Awkward)) }, (cfg, run) =>
        {
            run.Bios.Should().Be(cfg.Bootloader);
            run.Kernel.Should().BeNull();
        }),

        // Params
        Accept("Params=null", c => new() { Kernel = c.Kernel, Params = null }, (_, run) => run.Params.Should().BeEmpty()),
        Accept("Params=empty", c => new() { Kernel = c.Kernel, Params = "" }, (_, run) => run.Params.Should().BeEmpty()),
        Accept("Params=spaces", c => new() { Kernel = c.Kernel, Params = "   " }, ParamsIntact),
        Accept("Params=-x=--protected-vm", c => new() { Kernel = c.Kernel, Params = "-x=--protected-vm" }, ParamsIntact),
        Accept("Params=awkward", c => new() { Kernel = c.Kernel, Params = "-x=--mem a,b=c \"q\" 'b' [c] --" }, ParamsIntact),
        Accept("Params=at limit", c => new() { Kernel = c.Kernel, Params = "-" + new string('a', 2048 - 64 - 1) }, ParamsIntact),
        Reject("Params=huge", c => new() { Kernel = c.Kernel, Params = new string('a', 2048 - 64 + 1) }, "Params", "the VMM takes at most 1984"),
        Reject("Params=newline", c => new() { Kernel = c.Kernel, Params = "a\nb" }, "Params", "printable ASCII"),
        Reject("Params=non-ASCII", c => new() { Kernel = c.Kernel, Params = "café" }, "Params", "printable ASCII"),

        // MemoryMib, CpuCount, Protected
        Reject("MemoryMib=negative", c => new() { Kernel = c.Kernel, MemoryMib = -1 }, "MemoryMib", "must not be negative"),
        Accept("MemoryMib=0", c => new() { Kernel = c.Kernel, MemoryMib = 0 }, (_, run) => run.MemoryMib.Should().Be(256, "crosvm's default")),
        Accept("MemoryMib=huge", c => new() { Kernel = c.Kernel, MemoryMib = int.MaxValue }, (_, run) => run.MemoryMib.Should().Be(int.MaxValue)),
        Reject("CpuCount=negative", c => new() { Kernel = c.Kernel, CpuCount = int.MinValue }, "CpuCount", "must not be negative"),
        Accept("CpuCount=0", c => new() { Kernel = c.Kernel, CpuCount = 0 }, (_, run) => run.Cpus.Should().Be(1, "crosvm's default")),
        Accept("CpuCount=huge", c => new() { Kernel = c.Kernel, CpuCount = int.MaxValue }, (_, run) => run.Cpus.Should().Be(int.MaxValue)),
        Accept("Protected=true", c => new() { Kernel = c.Kernel, Protected = true }, (_, run) => run.ProtectedVm.Should().BeTrue()),
        Accept("Protected=false", c => new() { Kernel = c.Kernel, Protected = false }, (_, run) => run.ProtectedVm.Should().BeFalse()),

        // Disks and Disks[i].Image / Writable
        Reject("Disks=null", c => new() { Kernel = c.Kernel, Disks = null! }, "Disks", "must not be null"),
        Reject("Disks[0]=null", c => new() { Kernel = c.Kernel, Disks = [null!] }, "Disks[0]", "must not be null"),
        Reject("Disks[0].Image=null", c => new() { Kernel = c.Kernel, Disks = [new DiskImage(null, false, [])] }, "Disks[0]", "neither an Image nor Partitions"),
        Reject("Disks[0].Image=empty", c => new() { Kernel = c.Kernel, Disks = [new DiskImage("")] }, "Disks[0].Image", "is an empty path"),
        Reject("Disks[0].Image=missing", c => new() { Kernel = c.Kernel, Disks = [new DiskImage(c.Missing, writable: true)] }, "Disks[0].Image", "does not exist"),
        Reject("Disks[0].Image=directory", c => new() { Kernel = c.Kernel, Disks = [new DiskImage(c.H.Root)] }, "Disks[0].Image", "is a directory; " + DiskRule),
        Reject("Disks[0].Image=FIFO", async c => new() { Kernel = c.Kernel, Disks = [new DiskImage(await c.FifoAsync())] }, "Disks[0].Image", "is a FIFO; " + DiskRule),
        Reject("Disks[0].Image=FIFO writable", async c => new() { Kernel = c.Kernel, Disks = [new DiskImage(await c.FifoAsync(), writable: true)] }, "Disks[0].Image", "is a FIFO; " + DiskRule),
        Reject("Disks[0].Image=socket", c => new() { Kernel = c.Kernel, Disks = [new DiskImage(c.Socket())] }, "Disks[0].Image", "is a socket; " + DiskRule),
        Reject("Disks[0].Image=/dev/null", c => new() { Kernel = c.Kernel, Disks = [new DiskImage("/dev/null")] }, "Disks[0].Image", "is a character device; " + DiskRule),
        Accept("Disks[0].Image=symlink", c => new() { Kernel = c.Kernel, Disks = [new DiskImage(c.Symlink(c.File()))] }, DisksIntact),
        Accept("Disks[0].Image=awkward", c => new() { Kernel = c.Kernel, Disks = [new DiskImage(BadInputContext.File(Path.Combine(c.AwkwardDirectory, Awkward)), writable: true)] }, DisksIntact),
        Accept("Disks[0].Image=non-ASCII", c => new() { Kernel = c.Kernel, Disks = [new DiskImage(BadInputContext.File(Path.Combine(c.H.Root, NonAscii)))] }, DisksIntact),
        Accept("Disks[1].Writable=true", c => new() { Kernel = c.Kernel, Disks = [new DiskImage(c.File()), new DiskImage(c.File(), writable: true)] }, DisksIntact),
        Accept("Disks=empty", c => new() { Kernel = c.Kernel, Disks = [] }, (_, run) => run.Disks.Should().BeEmpty()),

        // Disks[i].Partitions[*]
        Reject("Partitions[0]=null", c => new() { Kernel = c.Kernel, Disks = [Parts([null!])] }, "Disks[0].Partitions[0]", "is null"),
        Reject("Partitions[0].Label=null", c => new() { Kernel = c.Kernel, Disks = [Parts(new Partition(null!, c.File(), false))] }, "Disks[0].Partitions[0].Label", "empty label"),
        Reject("Partitions[0].Label=empty", c => new() { Kernel = c.Kernel, Disks = [Parts(new Partition("", c.File(), false))] }, "Disks[0].Partitions[0].Label", "empty label"),
        Reject("Partitions[0].Label=huge", c => new() { Kernel = c.Kernel, Disks = [Parts(new Partition(new string('l', 37), c.File(), false))] }, "Disks[0].Partitions[0].Label", "at most 36"),
        Reject("Partitions[1].Label=duplicate", c => new() { Kernel = c.Kernel, Disks = [Parts(new Partition("a", c.File(), false), new Partition("a", c.File(), false))] }, "Disks[0].Partitions[1].Label", "must be unique"),
        Reject("Partitions[0].Image=null", c => new() { Kernel = c.Kernel, Disks = [Parts(new Partition("a", null!, false))] }, "Disks[0].Partitions[0].Image", "the image path is empty"),
        Reject("Partitions[0].Image=empty", c => new() { Kernel = c.Kernel, Disks = [Parts(new Partition("a", "", false))] }, "Disks[0].Partitions[0].Image", "the image path is empty"),
        Reject("Partitions[0].Image=NUL", c => new() { Kernel = c.Kernel, Disks = [Parts(new Partition("a", "/x\0y", false))] }, "Disks[0].Partitions[0].Image", "NUL character"),
        Reject("Partitions[0].Image=0 bytes", c => new() { Kernel = c.Kernel, Disks = [Parts(new Partition("a", c.File(0), false))] }, "Disks[0].Partitions[0].Image", "is empty (0 bytes)"),
        Reject("Partitions[0].Image=directory", c => new() { Kernel = c.Kernel, Disks = [Parts(new Partition("a", c.H.Root, false))] }, "Disks[0].Partitions[0].Image", "is a directory; " + PartitionRule),
        Reject("Partitions[0].Image=FIFO", async c => new() { Kernel = c.Kernel, Disks = [Parts(new Partition("a", await c.FifoAsync(), false))] }, "Disks[0].Partitions[0].Image", "is a FIFO; " + PartitionRule),
        Reject("Partitions[0].Image=/dev/null", c => new() { Kernel = c.Kernel, Disks = [Parts(new Partition("a", "/dev/null", false))] }, "Disks[0].Partitions[0].Image", "is a character device; " + PartitionRule),
        Reject("Partitions[0].Writable=unaligned", c => new() { Kernel = c.Kernel, Disks = [Parts(new Partition("a", c.File(4000), true))] }, "Disks[0].Partitions[0].Image", "not a multiple of 4096"),
        Accept(
            "Partitions[0].Image=awkward",
            c => new() { Kernel = c.Kernel, Disks = [Parts(new Partition(NonAscii + " ,=\"", BadInputContext.File(Path.Combine(c.AwkwardDirectory, Awkward)), false))] },
            (_, run) => Path.GetFileName(run.Disks.Should().ContainSingle().Which.Path).Should().Be("composite-0.img"),
            (cfg, folder) => CompositeDisk.Open(Path.Combine(folder, "composite-0.img")).Components[1].Path.Should().Be(cfg.Disks[0].Partitions[0].Image)),
    ];

    public static TheoryData<string> Cells => [.. s_cells.Select(c => c.Id)];

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(Cells))]
    public async Task CreateVmAsync_Cell_HasTheDocumentedOutcome(string id)
    {
        BadInputCell cell = s_cells.Single(c => c.Id == id);
        await using var h = new TestHarness();
        using var context = new BadInputContext(h);
        VirtualMachineRawConfig config = await cell.Build(context);

        if (cell.Field is { } field)
        {
            // On another thread: a cell that blocks fails by the test's Timeout instead of hanging the runner's thread.
            Func<Task> create = () => Task.Run(() => h.Service.CreateVmAsync(config));
            VirtualMachineConfigException thrown = (await create.Should().ThrowAsync<VirtualMachineConfigException>()).Which;
            thrown.Field.Should().Be(field);
            thrown.Message.Should().Contain(cell.Fragment!);
            h.Service.HeldCidCount.Should().Be(0);
            return;
        }

        IVirtualMachine vm = await h.Service.CreateVmAsync(config);
        cell.CheckFolder?.Invoke(Absolute(config), h.Service.DebugListVms().Single().TemporaryDirectory);
        await vm.StartAsync();
        h.TrackPid(vm);
        await vm.StopAsync();
        vm.DeathReason.Should().Be(DeathReason.Shutdown, "the fake crosvm accepted the argv");
        await vm.DisposeAsync();
        FakeParsedRun run = await FakeParsedRun.ReadAsync(context.ParsedPath);
        run.ProtectedVm.Should().Be(config.Protected, "no input may switch on a protected VM");
        cell.Check?.Invoke(Absolute(config), run);
    }

    private static BadInputCell Reject(string id, Func<BadInputContext, VirtualMachineRawConfig> build, string field, string fragment) =>
        new(id, c => Task.FromResult(build(c)), field, fragment);

    private static BadInputCell Reject(string id, Func<BadInputContext, Task<VirtualMachineRawConfig>> build, string field, string fragment) =>
        new(id, build, field, fragment);

    private static BadInputCell Accept(
        string id,
        Func<BadInputContext, VirtualMachineRawConfig> build,
        Action<VirtualMachineRawConfig, FakeParsedRun> check,
        Action<VirtualMachineRawConfig, string>? checkFolder = null) =>
        new(id, c => Task.FromResult(build(c)), Check: check, CheckFolder: checkFolder);

    private static DiskImage Parts(params Partition[] partitions) => new(null, false, partitions);

    /// <summary>The config as validation returns it (absolute paths), for comparing with what crosvm got.</summary>
    private static VirtualMachineRawConfig Absolute(VirtualMachineRawConfig config) => config with
    {
        Disks = config.Disks is null ? null! : [.. config.Disks.Select(d => d is { Image: { } i } ? d with { Image = Path.GetFullPath(i) } : d)],
    };

    private static void KernelIntact(VirtualMachineRawConfig config, FakeParsedRun run) => run.Kernel.Should().Be(config.Kernel);

    private static void ParamsIntact(VirtualMachineRawConfig config, FakeParsedRun run) => run.Params.Should().Equal([config.Params!]);

    private static void DisksIntact(VirtualMachineRawConfig config, FakeParsedRun run) =>
        run.Disks.Select(d => (d.Path, d.ReadOnly)).Should().Equal(config.Disks.Select(d => (d.Image!, !d.Writable)));
}
