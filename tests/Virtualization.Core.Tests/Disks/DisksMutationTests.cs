using System.Buffers.Binary;
using System.IO.Hashing;
using Google.Protobuf;
using Virtualization.Core.Disks;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Disks;

/// <summary>
/// Behaviour the Disks/ mutation run (Stryker.NET) showed unasserted: boundaries (16 MiB descriptors, 128 partitions,
/// 2^63 offsets, the 15-byte magic), the exact wording of every refusal a user reads, argument checks, the stream's
/// zero filling and disposal, file sharing with other readers, and the raw image's copy of a partition whose file
/// changed after validation. docs/testing.md lists which test kills which survivor.
/// </summary>
public sealed class DisksMutationTests : IDisposable
{
    private const int MaxDescriptorSize = 16 * 1024 * 1024;

    private readonly TempDir _dir = new();
    private readonly TempDir _out = new();

    public void Dispose()
    {
        _dir.Dispose();
        _out.Dispose();
    }

    // ---- CompositeDisk.Create ----

    [Fact]
    public void Create_NullPartitions_IsRefusedBeforeThePathIsLookedAt()
    {
        string taken = _dir.CreateImage("taken.img", 10, 1);
        Action act = () => CompositeDisk.Create(null!, taken);
        act.Should().ThrowExactly<ArgumentNullException>().Which.ParamName.Should().Be("partitions");
    }

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    public void Create_EmptyPath_IsRefusedNamingPath(string? path)
    {
        string p1 = _dir.CreateImage("p1.img", 4096, 1);
        Action act = () => CompositeDisk.Create([new Partition("a", p1, false)], path!);
        act.Should().Throw<ArgumentException>().Which.ParamName.Should().Be("path");
        _dir.Files().Should().Equal("p1.img");
    }

    [Theory]
    [InlineData(".img")]
    [InlineData("sub/")]
    public void Create_PathWithoutAFileName_IsRefusedNamingThePath(string name)
    {
        string p1 = _dir.CreateImage("p1.img", 4096, 1);
        string path = _out.Path + "/" + name;

        Action act = () => CompositeDisk.Create([new Partition("a", p1, false)], path);

        ArgumentException ex = act.Should().ThrowExactly<ArgumentException>().Which;
        ex.ParamName.Should().Be("path");
        ex.Message.Should().Be($"'{path}' has no file name to derive the header and footer names from. (Parameter 'path')");
        _out.Files().Should().BeEmpty();
    }

    [Fact]
    public void Create_OverAnExistingFile_IsRefusedWithItsOwnMessage()
    {
        string p1 = _dir.CreateImage("p1.img", 4096, 1);
        string path = _out.CreateImage("taken.disk", 10, 9);

        Action act = () => CompositeDisk.Create([new Partition("a", p1, false)], path);

        act.Should().ThrowExactly<IOException>().Which.Message.Should().Be($"'{path}' already exists; a composite disk is never written over a file.");
        _out.Files().Should().Equal("taken.disk");
        File.ReadAllBytes(path).Should().Equal(TempDir.Pattern(10, 9));
    }

    [Fact]
    public void Create_OverAnExistingFolder_IsRefusedWithItsOwnMessage()
    {
        string p1 = _dir.CreateImage("p1.img", 4096, 1);
        string path = _out.File("folder.disk");
        Directory.CreateDirectory(path);

        Action act = () => CompositeDisk.Create([new Partition("a", p1, false)], path);

        act.Should().ThrowExactly<IOException>().Which.Message.Should().Be($"'{path}' already exists; a composite disk is never written over a file.");
        _out.Files().Should().BeEmpty();
        Directory.GetFileSystemEntries(path).Should().BeEmpty();
    }

    [Fact]
    public void Create_WhoseFinalRenameFails_DeletesTheFilesItWrote()
    {
        // "d.<300 x>": the stem "d" gives short header/footer/descriptor names that can be written, but the descriptor
        // cannot be renamed to the requested name, which is longer than a file name can be (255 bytes).
        string p1 = _dir.CreateImage("p1.img", 4096, 1);
        string path = _out.File("d." + new string('x', 300));

        Action act = () => CompositeDisk.Create([new Partition("a", p1, false)], path);

        act.Should().Throw<PathTooLongException>();
        _out.Files().Should().BeEmpty("the header, footer and descriptor written before the rename are deleted");
    }

    // ---- CompositeDisk.IsDescriptor / Open ----

    [Fact]
    public void IsDescriptor_EmptyPath_IsRefusedNamingPath()
    {
        Action empty = () => CompositeDisk.IsDescriptor("");
        empty.Should().Throw<ArgumentException>().Which.ParamName.Should().Be("path");
        Action open = () => CompositeDisk.Open("");
        open.Should().Throw<ArgumentException>().Which.ParamName.Should().Be("path");
    }

    [Fact]
    public void IsDescriptor_IsTrueForTheBareMagic_AndFalseOneByteShort()
    {
        File.WriteAllBytes(_dir.File("magic.img"), DescriptorDecoder.Magic);
        File.WriteAllBytes(_dir.File("short.img"), DescriptorDecoder.Magic[..14]);

        CompositeDisk.IsDescriptor(_dir.File("magic.img")).Should().BeTrue();
        CompositeDisk.IsDescriptor(_dir.File("short.img")).Should().BeFalse();
    }

    [Fact]
    public void Open_BareMagic_IsADescriptorWithoutComponents()
    {
        string path = _dir.File("magic.img");
        File.WriteAllBytes(path, DescriptorDecoder.Magic);

        Action act = () => CompositeDisk.Open(path);

        act.Should().ThrowExactly<InvalidDataException>().Which.Message.Should().Be($"'{path}': the composite disk has no components.");
    }

    [Fact]
    public void Descriptor_HeldOpenByAnotherReader_CanBeCheckedAndOpened()
    {
        string path = WriteDescriptor("held.img", 100, [Component("/x", 0)]);
        using var other = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);

        CompositeDisk.IsDescriptor(path).Should().BeTrue();
        CompositeDisk.Open(path).Length.Should().Be(100);
    }

    [Fact]
    public void Open_DescriptorOfExactly16MiB_IsRead()
    {
        string path = WriteDescriptor("big.img", 100, [Component("/x", 0)], padTo: MaxDescriptorSize);
        new FileInfo(path).Length.Should().Be(MaxDescriptorSize);

        CompositeDisk disk = CompositeDisk.Open(path);

        disk.Length.Should().Be(100);
        disk.Components.Should().Equal(new CompositeDiskComponent("/x", 0, false));
    }

    [Fact]
    public void Open_DescriptorOneByteOver16MiB_IsRefusedWithItsSize()
    {
        string path = WriteDescriptor("huge.img", 100, [Component("/x", 0)], padTo: MaxDescriptorSize + 1);

        Action act = () => CompositeDisk.Open(path);

        act.Should().ThrowExactly<InvalidDataException>().Which.Message.Should()
            .Be($"'{path}' is 16777217 bytes, too large for a composite disk descriptor (at most 16777216).");
    }

    [SkippableFact]
    public void Open_FileReadingShorterThanItsSize_IsNotADescriptor()
    {
        // sysfs attributes report 4096 bytes and read a few: the reader must use what it got, not fail at end of stream.
        const string Sysfs = "/sys/kernel/uevent_seqnum";
        Skip.IfNot(File.Exists(Sysfs) && new FileInfo(Sysfs).Length == 4096, "no sysfs attribute reporting 4096 bytes");

        Action act = () => CompositeDisk.Open(Sysfs);

        act.Should().ThrowExactly<InvalidDataException>().WithMessage("Not a composite disk descriptor*");
    }

    [Fact]
    public void Open_LengthOf2Pow63Minus1_IsAccepted()
    {
        string path = WriteDescriptor("max.img", long.MaxValue, [Component("/x", 0)]);
        CompositeDisk.Open(path).Length.Should().Be(long.MaxValue);
    }

    [Fact]
    public void Open_LengthOf2Pow63_IsRefused()
    {
        string path = WriteDescriptor("over.img", 1UL << 63, [Component("/x", 0)]);

        Action act = () => CompositeDisk.Open(path);

        act.Should().ThrowExactly<InvalidDataException>().Which.Message.Should().Be($"'{path}': the disk length 9223372036854775808 is beyond 2^63.");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Open_ComponentWithoutAPath_IsRefused(bool emptyPathField)
    {
        string path = WriteDescriptor("nopath.img", 100, [Component("/x", 0), Component(emptyPathField ? string.Empty : null, 50)]);

        Action act = () => CompositeDisk.Open(path);

        act.Should().ThrowExactly<InvalidDataException>().Which.Message.Should().Be($"'{path}': the component at offset 50 has an empty path.");
    }

    [Fact]
    public void Open_SkipsUnknownTopLevelFields()
    {
        string path = WriteDescriptor("unknown.img", 100, [Component("/x", 0), Component("/y", 50)], extra: o =>
        {
            o.WriteTag(9, WireFormat.WireType.Varint);
            o.WriteUInt64(300);
            o.WriteTag(10, WireFormat.WireType.LengthDelimited);
            o.WriteBytes(ByteString.CopyFrom(2, 0, 0, 3));
            o.WriteTag(11, WireFormat.WireType.Fixed64);
            o.WriteFixed64(0x0200_0000_0000_0003);
        });

        CompositeDisk disk = CompositeDisk.Open(path);

        disk.Version.Should().Be(1);
        disk.Length.Should().Be(100);
        disk.Components.Should().Equal(new CompositeDiskComponent("/x", 0, false), new CompositeDiskComponent("/y", 50, false));
    }

    [Fact]
    public void Open_ComponentOffsetOf2Pow63_IsRefused()
    {
        string path = WriteDescriptor("off.img", 100, [Component("/x", 0), Component("/y", 1UL << 63)]);

        Action act = () => CompositeDisk.Open(path);

        act.Should().ThrowExactly<InvalidDataException>().Which.Message.Should().Be("Composite disk component '/y' has an offset beyond 2^63.");
    }

    [Fact]
    public void Open_ComponentFileOffsetOf2Pow63_IsRefused()
    {
        string path = WriteDescriptor("foff.img", 100, [Component("/x", 0, fileOffset: 1UL << 63)]);

        Action act = () => CompositeDisk.Open(path);

        act.Should().ThrowExactly<InvalidDataException>().Which.Message.Should().Be("Composite disk component '/x' has an offset beyond 2^63.");
    }

    [Fact]
    public void Open_ComponentOffsetOf2Pow63Minus1_FitsButIsNotBeforeTheEnd()
    {
        string path = WriteDescriptor("offmax.img", long.MaxValue, [Component("/x", 0), Component("/y", long.MaxValue)]);

        Action act = () => CompositeDisk.Open(path);

        act.Should().ThrowExactly<InvalidDataException>().Which.Message.Should()
            .Be($"'{path}': the disk length 9223372036854775807 is not beyond the last component's offset 9223372036854775807.");
    }

    [Fact]
    public void Open_ComponentFileOffsetOf2Pow63Minus1_IsAccepted()
    {
        string path = WriteDescriptor("foffmax.img", 100, [Component("/x", 0, fileOffset: long.MaxValue)]);
        CompositeDisk.Open(path).Components.Single().FileOffset.Should().Be(long.MaxValue);
    }

    // ---- CompositeDiskBuilder ----

    [Fact]
    public void Validate_AcceptsExactly128Partitions()
    {
        string img = _dir.CreateImage("a.img", 4096, 1);
        Partition[] parts = [.. Enumerable.Range(0, 128).Select(i => new Partition($"p{i}", img, false))];

        CompositeDiskPlan plan = CompositeDiskBuilder.Validate(parts);

        plan.Partitions.Should().HaveCount(128);
        plan.FooterOffset.Should().Be(0x5000 + (128 * 4096));
    }

    [Fact]
    public void Label_WithNul_IsNamedWithTheNulWrittenOut()
    {
        string a = _dir.CreateImage("a.img", 4096, 1);
        Action act = () => CompositeDiskBuilder.Validate([new Partition("a\0b", a, false)]);
        act.Should().ThrowExactly<ArgumentException>().Which.Message.Should()
            .Be("Partition 'a\\0b': the label contains a NUL character. (Parameter 'partitions[0].Label')");
    }

    [Fact]
    public void ImagePath_WithNul_IsRefused()
    {
        Action act = () => CompositeDiskBuilder.Validate([new Partition("root", _dir.File("a\0b.img"), false)]);
        ArgumentException ex = act.Should().ThrowExactly<ArgumentException>().Which;
        ex.ParamName.Should().Be("partitions[0].Image");
        ex.Message.Should().Be("Partition 'root': the image path contains a NUL character, which no Linux path can hold. (Parameter 'partitions[0].Image')");
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(-1L)]
    public void Plan_SizeNotPositive_IsRefused(long size)
    {
        Partition[] parts = [new Partition("a", "/a", false), new Partition("b", "/b", false)];
        Action act = () => CompositeDiskBuilder.Plan(parts, [4096, size], ["/a", "/b"]);
        ArgumentException ex = act.Should().ThrowExactly<ArgumentException>().Which;
        ex.ParamName.Should().Be("partitions[1].Image");
        ex.Message.Should().Be($"Partition 'b': the image size {size} is not positive. (Parameter 'partitions[1].Image')");
    }

    [Fact]
    public void WritableUnalignedImage_MessageSaysWhatToDo()
    {
        Action act = () => CompositeDiskBuilder.Plan([new Partition("data", "/d.img", true)], [4097], ["/d.img"]);
        act.Should().ThrowExactly<ArgumentException>().Which.Message.Should().Be(
            "Partition 'data': the writable image '/d.img' is 4097 bytes, not a multiple of 4096; a writable partition cannot be padded " +
            "with a filler. Resize the image or make the partition read-only. (Parameter 'partitions[0].Image')");
    }

    [Fact]
    public void Plan_WithReadOnlyPartitionsOnly_HasNoWritablePartition()
    {
        CompositeDiskBuilder.Plan([new Partition("a", "/a", false), new Partition("b", "/b", false)], [4096, 100], ["/a", "/b"])
            .HasWritablePartition.Should().BeFalse();
        CompositeDiskBuilder.Plan([new Partition("a", "/a", true)], [4096], ["/a"]).HasWritablePartition.Should().BeTrue();
    }

    [Fact]
    public void Build_NullPlan_IsRefusedNamingPlan()
    {
        Action act = () => CompositeDiskBuilder.Build((CompositeDiskPlan)null!, _out.Path, "disk");
        act.Should().ThrowExactly<ArgumentNullException>().Which.ParamName.Should().Be("plan");
    }

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    public void Build_EmptyOutputFolder_IsRefusedNamingOutputDirectory(string? folder)
    {
        CompositeDiskPlan plan = CompositeDiskBuilder.Validate([new Partition("a", _dir.CreateImage("a.img", 4096, 1), false)]);
        Action act = () => CompositeDiskBuilder.Build(plan, folder!, "disk");
        act.Should().Throw<ArgumentException>().Which.ParamName.Should().Be("outputDirectory");
    }

    [Theory]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("/disk")]
    [InlineData("\0disk")]
    [InlineData("sub/disk")]
    public void Build_BaseNameThatIsNotAPlainFileName_IsRefused(string name)
    {
        CompositeDiskPlan plan = CompositeDiskBuilder.Validate([new Partition("a", _dir.CreateImage("a.img", 4096, 1), false)]);
        Action act = () => CompositeDiskBuilder.Build(plan, _out.Path, name);
        ArgumentException ex = act.Should().ThrowExactly<ArgumentException>().Which;
        ex.ParamName.Should().Be("baseName");
        ex.Message.Should().Be($"'{name}' is not a plain file name. (Parameter 'baseName')");
        _out.Files().Should().BeEmpty();
    }

    [Fact]
    public void Build_IntoAMissingFolder_IsRefusedNamingTheFolder()
    {
        CompositeDiskPlan plan = CompositeDiskBuilder.Validate([new Partition("a", _dir.CreateImage("a.img", 4096, 1), false)]);
        string missing = _out.File("missing");
        Action act = () => CompositeDiskBuilder.Build(plan, missing, "disk");
        act.Should().ThrowExactly<ArgumentException>().Which.Message.Should()
            .Be($"The output folder '{missing}' does not exist. (Parameter 'outputDirectory')");
    }

    [Fact]
    public void DeleteAll_GoesOnPastAFileItCannotDelete()
    {
        string kept = _out.CreateImage("created.img", 10, 1);
        string undeletable = _out.File(new string('x', 300)); // name too long: File.Delete throws PathTooLongException

        CompositeDiskBuilder.DeleteAll([kept, undeletable]);

        _out.Files().Should().BeEmpty();
    }

    // ---- GPT ----

    [Theory]
    [InlineData(0x5000, 0x4000)]
    [InlineData(0x4000, 0x5000)]
    public void WriteTables_RegionsOfTheWrongSize_AreRefused(int beginningSize, int footerSize)
    {
        CompositeDiskPlan plan = CompositeDiskBuilder.Plan([new Partition("a", "/a", false)], [4096], ["/a"]);
        Action act = () => Gpt.WriteTables(plan, Guid.NewGuid(), [Guid.NewGuid()], new byte[beginningSize], new byte[footerSize]);
        act.Should().ThrowExactly<ArgumentException>().Which.Message.Should().Be("GPT regions must be exactly 0x5000 bytes each.");
    }

    [Fact]
    public void WriteTables_NeedsOneGuidPerPartition()
    {
        CompositeDiskPlan plan = CompositeDiskBuilder.Plan([new Partition("a", "/a", false)], [4096], ["/a"]);
        Action act = () => Gpt.WriteTables(plan, Guid.NewGuid(), [Guid.NewGuid(), Guid.NewGuid()], new byte[0x5000], new byte[0x5000]);
        ArgumentException ex = act.Should().ThrowExactly<ArgumentException>().Which;
        ex.ParamName.Should().Be("partitionGuids");
        ex.Message.Should().Be("One unique GUID per partition is required. (Parameter 'partitionGuids')");
    }

    [Fact]
    public void WriteHeader_OverDirtyBytes_ZeroesTheReservedFieldAndWritesAValidCrc()
    {
        byte[] header = new byte[Gpt.HeaderSize];
        header.AsSpan().Fill(0xFF);

        Gpt.WriteHeader(header, currentLba: 1, backupLba: 95, lastUsableLba: 62, Guid.Empty, entriesLba: 2, entriesCrc: 0x12345678);

        BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(20)).Should().Be(0, "reserved");
        byte[] copy = (byte[])header.Clone();
        copy.AsSpan(16, 4).Clear();
        BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(16)).Should().Be(Crc32.HashToUInt32(copy), "the CRC is over the header with the CRC field zero");
    }

    [Fact]
    public void WriteEntry_OverDirtyBytes_ZeroesTheAttributes()
    {
        byte[] entry = new byte[Gpt.EntrySize];
        entry.AsSpan().Fill(0xFF);

        Gpt.WriteEntry(entry, Gpt.LinuxFilesystemType, Guid.Empty, 40, 47, "p1");

        BinaryPrimitives.ReadUInt64LittleEndian(entry.AsSpan(48)).Should().Be(0);
    }

    // ---- CompositeDiskStream ----

    [Fact]
    public void DisposedStream_RefusesLengthPositionAndSeek()
    {
        Stream s = OpenStream(50, ("a.bin", 10));
        s.Dispose();

        ((Action)(() => _ = s.Length)).Should().Throw<ObjectDisposedException>();
        ((Action)(() => _ = s.Position)).Should().Throw<ObjectDisposedException>();
        ((Action)(() => s.Position = 1)).Should().Throw<ObjectDisposedException>();
        ((Action)(() => s.Seek(0, SeekOrigin.Begin))).Should().Throw<ObjectDisposedException>();
        s.Dispose(); // a second dispose is harmless
    }

    [Fact]
    public void NegativePosition_IsRefused()
    {
        using Stream s = OpenStream(50, ("a.bin", 10));
        Action act = () => s.Position = -1;
        act.Should().Throw<ArgumentOutOfRangeException>();
        s.Position.Should().Be(0);
    }

    [Fact]
    public void Seek_ToTheStart_IsAllowed_AndBeforeItIsRefusedWithTheStreamMessage()
    {
        using Stream s = OpenStream(50, ("a.bin", 10));
        s.Position = 20;

        s.Seek(0, SeekOrigin.Begin).Should().Be(0);
        s.Seek(-50, SeekOrigin.End).Should().Be(0);

        Action before = () => s.Seek(-1, SeekOrigin.Current);
        before.Should().ThrowExactly<IOException>().Which.Message.Should().Be("An attempt was made to move the position before the beginning of the stream.");
        s.Position.Should().Be(0);
    }

    [Fact(Timeout = 30_000)]
    public async Task Read_IntoANullBuffer_IsRefused()
    {
        using Stream s = OpenStream(50, ("a.bin", 10));

        Action read = () => _ = s.Read(null!, 0, 0);
        read.Should().ThrowExactly<ArgumentNullException>().Which.ParamName.Should().Be("buffer");
        Func<Task> readAsync = () => s.ReadAsync(null!, 0, 0, CancellationToken.None);
        (await readAsync.Should().ThrowExactlyAsync<ArgumentNullException>()).Which.ParamName.Should().Be("buffer");
    }

    [Fact]
    public void Read_PastTheEnd_ReadsNothingAndKeepsThePosition()
    {
        using Stream s = OpenStream(50, ("a.bin", 10));
        s.Position = 80;

        s.Read(new byte[10]).Should().Be(0);
        s.Position.Should().Be(80);
        s.Seek(0, SeekOrigin.End);
        s.Read(new byte[10]).Should().Be(0);
        s.Position.Should().Be(50);
    }

    [Fact]
    public void BytesBeforeTheFirstComponentAndPastShortOrMissingFiles_AreZeroedInTheCallersBuffer()
    {
        File.WriteAllBytes(_dir.File("a.bin"), [1, 2, 3]); // [10, 20): short
        // b.bin ([20, 30)) does not exist
        using Stream s = OpenStream(30, ("a.bin", 10), ("b.bin", 20));
        byte[] buffer = new byte[30];
        buffer.AsSpan().Fill(0xEE);

        s.Read(buffer).Should().Be(30);

        buffer.Should().Equal(
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            1, 2, 3, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    }

    [Fact(Timeout = 30_000)]
    public async Task ReadAsync_WithACancelledToken_ReadsNothing()
    {
        File.WriteAllBytes(_dir.File("a.bin"), [1, 2, 3]);
        using Stream s = OpenStream(20, ("a.bin", 0));
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        byte[] buffer = new byte[4];

        Func<Task> act = async () => _ = await s.ReadAsync(buffer.AsMemory(), cts.Token);

        await act.Should().ThrowAsync<OperationCanceledException>();
        s.Position.Should().Be(0);
        buffer.Should().Equal(0, 0, 0, 0);
    }

    [Fact(Timeout = 30_000)]
    public async Task ReadAsync_ReportsAnIoErrorThroughTheTask()
    {
        // A component whose name is too long to open: PathTooLongException, an IOException.
        using Stream s = OpenStream(20, (new string('x', 300), 0));

        ValueTask<int> read = s.ReadAsync(new byte[4].AsMemory());

        read.IsFaulted.Should().BeTrue("the error is in the task, not thrown by the call");
        Func<Task> wait = async () => await read;
        await wait.Should().ThrowAsync<PathTooLongException>();
    }

    [Fact]
    public void WriteAndSetLength_SayTheStreamIsReadOnly()
    {
        using Stream s = OpenStream(50, ("a.bin", 10));
        Action write = () => s.Write([1], 0, 1);
        write.Should().ThrowExactly<NotSupportedException>().Which.Message.Should().Be("A composite disk stream is read-only.");
        Action setLength = () => s.SetLength(1);
        setLength.Should().ThrowExactly<NotSupportedException>().Which.Message.Should().Be("A composite disk stream is read-only.");
    }

    [Fact]
    public void Dispose_ClosesTheComponentFiles()
    {
        string a = _dir.File("a.bin");
        File.WriteAllBytes(a, [1, 2, 3]);
        Stream s = OpenStream(20, ("a.bin", 0));
        s.ReadByte().Should().Be(1);

        OpenDescriptorsOf(a).Should().Be(1, "the stream holds the component open");
        s.Dispose();
        OpenDescriptorsOf(a).Should().Be(0);
    }

    [Fact]
    public void ComponentFile_IsOpenedOnceAndKept()
    {
        string a = _dir.File("a.bin");
        File.WriteAllBytes(a, [1, 2, 3, 4]);
        using Stream s = OpenStream(4, ("a.bin", 0));
        s.ReadByte().Should().Be(1);

        File.Delete(a);
        File.WriteAllBytes(a, [9, 9, 9, 9]);

        byte[] rest = new byte[3];
        s.Read(rest).Should().Be(3);
        rest.Should().Equal(2, 3, 4);
    }

    // ---- RawGptImageWriter ----

    [Fact(Timeout = 30_000)]
    public async Task Raw_NullPlan_IsRefusedNamingPlan()
    {
        Func<Task> act = () => RawGptImageWriter.WriteAsync((CompositeDiskPlan)null!, _out.Path, "raw.img");
        (await act.Should().ThrowExactlyAsync<ArgumentNullException>()).Which.ParamName.Should().Be("plan");
    }

    [Fact(Timeout = 30_000)]
    public async Task Raw_WritablePartitionMessage_IsComplete()
    {
        Partition[] parts = [new Partition("userdata", _dir.CreateImage("rw.img", 4096, 2), true)];
        Func<Task> act = () => RawGptImageWriter.WriteAsync(parts, _out.Path, "raw.img");
        (await act.Should().ThrowExactlyAsync<NotSupportedException>()).Which.Message.Should().Be(
            "Partition 'userdata' is writable, but QEMU cannot share a writable partition: it cannot read composite disks, so the " +
            "partitions are copied into one raw image and the guest's writes would never reach the partition's image. Use crosvm " +
            "or make the partition read-only.");
    }

    [Fact(Timeout = 30_000)]
    public async Task Raw_CancelledBeforeStart_ThrowsBeforeTouchingTheOutput()
    {
        await File.WriteAllTextAsync(_out.File("raw.img"), "keep");
        Partition[] parts = [new Partition("a", _dir.CreateImage("a.img", 4096, 1), false)];
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        Func<Task> act = () => RawGptImageWriter.WriteAsync(parts, _out.Path, "raw.img", cancellationToken: cts.Token);

        await act.Should().ThrowAsync<OperationCanceledException>();
        (await File.ReadAllTextAsync(_out.File("raw.img"))).Should().Be("keep");
    }

    [Fact(Timeout = 30_000)]
    public async Task Raw_PartitionHeldOpenByAnotherReader_IsCopied()
    {
        string a = _dir.CreateImage("a.img", 4096, 1);
        await using var other = new FileStream(a, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);

        RawGptImageResult r = await RawGptImageWriter.WriteAsync([new Partition("a", a, false)], _out.Path, "raw.img");

        byte[] image = await File.ReadAllBytesAsync(r.ImagePath);
        image.AsSpan(0x5000, 4096).SequenceEqual(TempDir.Pattern(4096, 1)).Should().BeTrue();
    }

    [Fact(Timeout = 30_000)]
    public async Task Raw_EvenIfTheFileGrew_CopiesTheValidatedSize()
    {
        const int Size = (1024 * 1024) + 100; // more than one 1 MiB copy chunk, and not a multiple of it
        string a = _dir.CreateImage("a.img", Size, 1);
        CompositeDiskPlan plan = CompositeDiskBuilder.Validate([new Partition("a", a, false)]);
        await using (var append = new FileStream(a, FileMode.Append))
        {
            append.Write(TempDir.Pattern(8192, 7));
        }

        RawGptImageResult r = await RawGptImageWriter.WriteAsync(plan, _out.Path, "raw.img");

        byte[] image = await File.ReadAllBytesAsync(r.ImagePath);
        long alignedEnd = 0x5000 + ((Size + 4095) & ~4095L);
        image.Should().HaveCount((int)(alignedEnd + 0x5000));
        image.AsSpan(0x5000, Size).SequenceEqual(TempDir.Pattern(Size, 1)).Should().BeTrue();
        image.AsSpan(0x5000 + Size, (int)(alignedEnd - 0x5000 - Size)).IndexOfAnyExcept((byte)0).Should().Be(-1, "bytes appended after validation are not part of the partition");
    }

    [Fact(Timeout = 30_000)]
    public async Task Raw_PartitionThatShrank_IsPaddedWithZerosToItsValidatedSize()
    {
        string a = _dir.CreateImage("a.img", 8192, 1);
        string b = _dir.CreateImage("b.img", 4096, 2);
        CompositeDiskPlan plan = CompositeDiskBuilder.Validate([new Partition("a", a, false), new Partition("b", b, false)]);
        await using (var shrink = new FileStream(b, FileMode.Open, FileAccess.Write))
        {
            shrink.SetLength(1000);
        }

        RawGptImageResult r = await RawGptImageWriter.WriteAsync(plan, _out.Path, "raw.img");

        byte[] image = await File.ReadAllBytesAsync(r.ImagePath);
        image.Should().HaveCount(0x5000 + 8192 + 4096 + 0x5000);
        image.AsSpan(0x5000, 8192).SequenceEqual(TempDir.Pattern(8192, 1)).Should().BeTrue();
        image.AsSpan(0x7000, 1000).SequenceEqual(TempDir.Pattern(1000, 2)).Should().BeTrue();
        image.AsSpan(0x7000 + 1000, 4096 - 1000).IndexOfAnyExcept((byte)0).Should().Be(-1);
    }

    // ---- helpers ----

    /// <summary>How many of this process's file descriptors refer to <paramref name="path"/> (links in /proc/self/fd).</summary>
    private static int OpenDescriptorsOf(string path) =>
        Directory.GetFiles("/proc/self/fd").Count(fd =>
        {
            try
            {
                return new FileInfo(fd).LinkTarget == path;
            }
            catch (IOException)
            {
                return false; // closed meanwhile by another thread
            }
        });

    /// <summary>A <c>ComponentDisk</c> message written by hand; a null path leaves the field out.</summary>
    private static byte[] Component(string? path, ulong offset, ulong fileOffset = 0)
    {
        var ms = new MemoryStream();
        var o = new CodedOutputStream(ms, leaveOpen: true);
        if (path is not null)
        {
            o.WriteTag(1, WireFormat.WireType.LengthDelimited);
            o.WriteString(path);
        }

        if (offset != 0)
        {
            o.WriteTag(2, WireFormat.WireType.Varint);
            o.WriteUInt64(offset);
        }

        if (fileOffset != 0)
        {
            o.WriteTag(4, WireFormat.WireType.Varint);
            o.WriteUInt64(fileOffset);
        }

        o.Flush();
        return ms.ToArray();
    }

    /// <summary>
    /// Magic, version 1, the components, <paramref name="extra"/> fields, the length; with <paramref name="padTo"/>, an
    /// unknown bytes field (number 15) first, sized so the file is exactly that long.
    /// </summary>
    private string WriteDescriptor(string name, ulong length, byte[][] components, int padTo = 0, Action<CodedOutputStream>? extra = null)
    {
        byte[] Body(int padding)
        {
            var ms = new MemoryStream();
            ms.Write(DescriptorDecoder.Magic);
            var o = new CodedOutputStream(ms, leaveOpen: true);
            if (padding >= 0)
            {
                o.WriteTag(15, WireFormat.WireType.LengthDelimited);
                o.WriteBytes(ByteString.CopyFrom(new byte[padding]));
            }

            o.WriteTag(1, WireFormat.WireType.Varint);
            o.WriteUInt64(1);
            foreach (byte[] c in components)
            {
                o.WriteTag(2, WireFormat.WireType.LengthDelimited);
                o.WriteBytes(ByteString.CopyFrom(c));
            }

            extra?.Invoke(o);
            o.WriteTag(3, WireFormat.WireType.Varint);
            o.WriteUInt64(length);
            o.Flush();
            return ms.ToArray();
        }

        byte[] bytes = Body(-1);
        if (padTo > 0)
        {
            // The field costs a tag byte and a 4-byte length varint (16 MiB needs 4 bytes: 2^21 <= n < 2^28).
            bytes = Body(padTo - bytes.Length - 1 - 4);
            bytes.Should().HaveCount(padTo);
        }

        string path = _dir.File(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>A stream over a disk of <paramref name="length"/> bytes with components relative to the test folder.</summary>
    private Stream OpenStream(ulong length, params (string Path, ulong Offset)[] components)
    {
        string d = WriteDescriptor("s-" + Guid.NewGuid().ToString("N") + ".img", length, [.. components.Select(c => Component(c.Path, c.Offset))]);
        return CompositeDisk.Open(d).OpenRead();
    }
}
