using Virtualization.Core.Disks;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Disks;

/// <summary>The raw GPT image for QEMU: same GPT as the composite, data copied, read-only partitions only, no leftovers.</summary>
public sealed class RawGptImageWriterTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly TempDir _out = new();

    public void Dispose()
    {
        _dir.Dispose();
        _out.Dispose();
    }

    [Fact(Timeout = 30_000)]
    public async Task RawImage_EqualsTheFlattenedCompositeWithTheSameSeed()
    {
        Partition[] parts =
        [
            new Partition("p1", _dir.CreateImage("p1.img", 4000, 1), false),
            new Partition("p2", _dir.CreateImage("p2.img", 4096, 2), false),
            new Partition("big", _dir.CreateImage("big.img", (3 * 1024 * 1024) + 17, 3), false),
        ];

        RawGptImageResult raw = await RawGptImageWriter.WriteAsync(parts, _out.Path, "raw.img", seed: 5);
        CompositeDiskBuildResult composite = CompositeDiskBuilder.Build(parts, _out.Path, "composite", seed: 5);

        raw.Length.Should().Be(composite.Length).And.Be(0x5000 + 0x1000 + 0x1000 + (3 * 1024 * 1024) + 0x1000 + 0x5000);
        raw.DiskGuid.Should().Be(composite.DiskGuid);
        byte[] image = await File.ReadAllBytesAsync(raw.ImagePath);
        var flat = new MemoryStream();
        using (Stream s = CompositeDisk.Open(composite.DescriptorPath).OpenRead())
        {
            await s.CopyToAsync(flat);
        }

        image.Should().HaveCount((int)raw.Length);
        image.AsSpan().SequenceEqual(flat.ToArray()).Should().BeTrue("the raw image is the composite disk, materialised");
        image.AsSpan(0x7000, parts.Length).ToArray().Should().Equal(TempDir.Pattern(3, 3));
    }

    [Fact(Timeout = 30_000)]
    public async Task ZeroBlocks_AreLeftAsHoles_AndReadBackAsZero()
    {
        string sparse = _dir.File("sparse.img");
        byte[] content = new byte[2 * 1024 * 1024];
        content[^1] = 0x42;
        await File.WriteAllBytesAsync(sparse, content);

        RawGptImageResult r = await RawGptImageWriter.WriteAsync([new Partition("sparse", sparse, false)], _out.Path, "raw.img");

        byte[] image = await File.ReadAllBytesAsync(r.ImagePath);
        image[0x5000 + content.Length - 1].Should().Be(0x42);
        image.AsSpan(0x5000, content.Length - 1).IndexOfAnyExcept((byte)0).Should().Be(-1);
    }

    /// <summary>
    /// The holes themselves, not only the bytes: a 16 MiB partition of zeros but for its last byte allocates only the GPT
    /// tables and the copy chunk holding that byte. Counted with SEEK_DATA/SEEK_HOLE (an image written in full has
    /// one data extent covering the whole partition).
    /// </summary>
    [SkippableFact(Timeout = 30_000)]
    public async Task ZeroBlocks_TakeNoSpaceInTheImage()
    {
        const long PartitionStart = 0x5000;
        const int Size = 16 * 1024 * 1024;
        string sparse = _dir.File("zeros.img");
        byte[] content = new byte[Size];
        content[^1] = 0x42;
        await File.WriteAllBytesAsync(sparse, content);

        string probe = _out.File("probe");
        using (FileStream f = File.Create(probe))
        {
            f.SetLength(Size);
        }

        Skip.IfNot(TestInterop.DataExtents(probe).Count == 0, "the temporary folder's file system does not report holes (SEEK_DATA)");
        File.Delete(probe);
        RawGptImageResult r = await RawGptImageWriter.WriteAsync([new Partition("zeros", sparse, false)], _out.Path, "raw.img");

        List<(long Start, long End)> extents = TestInterop.DataExtents(r.ImagePath);
        long allocatedInPartition = extents.Sum(e => Math.Max(0, Math.Min(e.End, PartitionStart + Size) - Math.Max(e.Start, PartitionStart)));
        allocatedInPartition.Should().BeLessThanOrEqualTo(Size / 4, "all-zero blocks must be left as holes, not written");
        allocatedInPartition.Should().BeGreaterThan(0, "the block with the last byte is written");
        extents.Should().NotContain(e => e.Start <= PartitionStart && e.End > PartitionStart, "the partition starts with zeros: a hole");
    }

    [Fact(Timeout = 30_000)]
    public async Task WritablePartition_IsNotSupported()
    {
        Partition[] parts = [new Partition("ro", _dir.CreateImage("ro.img", 4096, 1), false), new Partition("userdata", _dir.CreateImage("rw.img", 4096, 2), true)];

        Func<Task> act = () => RawGptImageWriter.WriteAsync(parts, _out.Path, "raw.img");

        (await act.Should().ThrowAsync<NotSupportedException>()).Which.Message.Should()
            .Contain("Partition 'userdata' is writable").And.Contain("QEMU cannot share a writable partition").And.Contain("Use crosvm or make the partition read-only");
        _out.Files().Should().BeEmpty();
    }

    [Fact(Timeout = 30_000)]
    public async Task ValidationErrors_ComeBeforeAnyWrite()
    {
        Func<Task> act = () => RawGptImageWriter.WriteAsync([new Partition("x", _dir.File("missing.img"), false)], _out.Path, "raw.img");
        (await act.Should().ThrowAsync<ArgumentException>()).Which.ParamName.Should().Be("partitions[0].Image");
        _out.Files().Should().BeEmpty();
    }

    [Fact(Timeout = 30_000)]
    public async Task Image_WhenAPartitionVanishesMidway_IsDeleted()
    {
        string p1 = _dir.CreateImage("p1.img", 4096, 1);
        string p2 = _dir.CreateImage("p2.img", 4096, 2);
        CompositeDiskPlan plan = CompositeDiskBuilder.Validate([new Partition("a", p1, false), new Partition("b", p2, false)]);
        File.Delete(p2);

        Func<Task> act = () => RawGptImageWriter.WriteAsync(plan, _out.Path, "raw.img");

        await act.Should().ThrowAsync<FileNotFoundException>();
        _out.Files().Should().BeEmpty();
    }

    [Fact(Timeout = 30_000)]
    public async Task Cancellation_LeavesNothingBehind()
    {
        Partition[] parts = [new Partition("a", _dir.CreateImage("a.img", 4096, 1), false)];
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        Func<Task> act = () => RawGptImageWriter.WriteAsync(parts, _out.Path, "raw.img", cancellationToken: cts.Token);

        await act.Should().ThrowAsync<OperationCanceledException>();
        _out.Files().Should().BeEmpty();
    }

    [Fact(Timeout = 30_000)]
    public async Task ExistingOutput_IsNotOverwritten()
    {
        await File.WriteAllTextAsync(_out.File("raw.img"), "keep");
        Func<Task> act = () => RawGptImageWriter.WriteAsync([new Partition("a", _dir.CreateImage("a.img", 4096, 1), false)], _out.Path, "raw.img");

        await act.Should().ThrowAsync<IOException>();
        (await File.ReadAllTextAsync(_out.File("raw.img"))).Should().Be("keep");
    }
}
