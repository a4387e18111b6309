using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using Virtualization.Core.Disks;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Disks;

/// <summary>Byte-level checks against crosvm's worked example: p1 = 4000 bytes read-only, p2 = 4096 bytes writable.</summary>
public sealed class CompositeDiskLayoutTests : IDisposable
{
    private static readonly byte[] LinuxFsTypeBytes = [0xAF, 0x3D, 0xC6, 0x0F, 0x83, 0x84, 0x72, 0x47, 0x8E, 0x79, 0x3D, 0x69, 0xD8, 0x47, 0x7D, 0xE4];

    private readonly TempDir _dir = new();
    private readonly string _p1;
    private readonly string _p2;
    private readonly CompositeDiskBuildResult _result;

    public CompositeDiskLayoutTests()
    {
        _p1 = _dir.CreateImage("p1.img", 4000, 1);
        _p2 = _dir.CreateImage("p2.img", 4096, 2);
        _result = CompositeDiskBuilder.Build([new Partition("p1", _p1, false), new Partition("p2", _p2, true)], _dir.Path, "disk", seed: 7);
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Components_MatchCrosvmWorkedExample()
    {
        _result.Length.Should().Be(0xC000);
        _result.Components.Should().Equal(
            new CompositeDiskComponent(_dir.File("disk-header.img"), 0x0, false),
            new CompositeDiskComponent(_p1, 0x5000, false),
            new CompositeDiskComponent(_dir.File("disk-filler.img"), 0x5FA0, false),
            new CompositeDiskComponent(_p2, 0x6000, true),
            new CompositeDiskComponent(_dir.File("disk-footer.img"), 0x7000, false));
        _result.DescriptorPath.Should().Be(_dir.File("disk.img"));
        _result.CreatedFiles.Should().Equal(_dir.File("disk-header.img"), _dir.File("disk-filler.img"), _dir.File("disk-footer.img"), _dir.File("disk.img"));
        _dir.Files().Should().Equal("disk-filler.img", "disk-footer.img", "disk-header.img", "disk.img", "p1.img", "p2.img");
        new FileInfo(_dir.File("disk-header.img")).Length.Should().Be(0x5000);
        new FileInfo(_dir.File("disk-footer.img")).Length.Should().Be(0x5000);
        File.ReadAllBytes(_dir.File("disk-filler.img")).Should().HaveCount(4096).And.OnlyContain(b => b == 0);
    }

    [Fact]
    public void Descriptor_DecodedWithProtobuf_IsVersion1WithAbsolutePathsOffsetsAndFlags()
    {
        byte[] file = File.ReadAllBytes(_result.DescriptorPath);
        file.AsSpan(0, 15).ToArray().Should().Equal(Encoding.ASCII.GetBytes("composite_disk\x1d"));
        file[15].Should().Be(0x08, "field 1 (version) comes first");
        file[16].Should().Be(0x01);

        DescriptorDecoder.Message m = DescriptorDecoder.Decode(file);
        m.Version.Should().Be(1);
        m.Length.Should().Be(0xC000);
        m.Components.Should().Equal(
            new DescriptorDecoder.Component(_dir.File("disk-header.img"), 0x0, 0),
            new DescriptorDecoder.Component(_p1, 0x5000, 0),
            new DescriptorDecoder.Component(_dir.File("disk-filler.img"), 0x5FA0, 0),
            new DescriptorDecoder.Component(_p2, 0x6000, 1),
            new DescriptorDecoder.Component(_dir.File("disk-footer.img"), 0x7000, 0));
        m.Components.Should().OnlyContain(c => Path.IsPathFullyQualified(c.FilePath));
    }

    [Fact]
    public void ProtectiveMbr_HasTheExpectedBytes()
    {
        byte[] h = File.ReadAllBytes(_dir.File("disk-header.img"));
        h.AsSpan(0, 446).ToArray().Should().OnlyContain(b => b == 0);
        h.AsSpan(446, 16).ToArray().Should().Equal(
            0x00, 0x00, 0x00, 0x00, // status, CHS start
            0xEE, 0x00, 0x00, 0x00, // type, CHS end
            0x01, 0x00, 0x00, 0x00, // first LBA 1
            0x5F, 0x00, 0x00, 0x00); // 96 LBAs - 1 = 95 (UEFI rule)
        h.AsSpan(462, 48).ToArray().Should().OnlyContain(b => b == 0);
        h[510].Should().Be(0x55);
        h[511].Should().Be(0xAA);
    }

    [Fact]
    public void PrimaryHeader_HasTheExpectedFieldsAndCrcs()
    {
        byte[] h = File.ReadAllBytes(_dir.File("disk-header.img"));
        ReadOnlySpan<byte> hdr = h.AsSpan(512, 92);
        Encoding.ASCII.GetString(hdr[..8]).Should().Be("EFI PART");
        BinaryPrimitives.ReadUInt32LittleEndian(hdr[8..]).Should().Be(0x00010000);
        BinaryPrimitives.ReadUInt32LittleEndian(hdr[12..]).Should().Be(92);
        BinaryPrimitives.ReadUInt32LittleEndian(hdr[20..]).Should().Be(0);
        BinaryPrimitives.ReadUInt64LittleEndian(hdr[24..]).Should().Be(1, "current LBA");
        BinaryPrimitives.ReadUInt64LittleEndian(hdr[32..]).Should().Be(95, "backup LBA = last LBA");
        BinaryPrimitives.ReadUInt64LittleEndian(hdr[40..]).Should().Be(40, "first usable LBA");
        BinaryPrimitives.ReadUInt64LittleEndian(hdr[48..]).Should().Be(62, "last usable LBA");
        new Guid(hdr.Slice(56, 16)).Should().Be(_result.DiskGuid);
        BinaryPrimitives.ReadUInt64LittleEndian(hdr[72..]).Should().Be(2, "entries LBA");
        BinaryPrimitives.ReadUInt32LittleEndian(hdr[80..]).Should().Be(128);
        BinaryPrimitives.ReadUInt32LittleEndian(hdr[84..]).Should().Be(128);
        BinaryPrimitives.ReadUInt32LittleEndian(hdr[88..]).Should().Be(Crc32.HashToUInt32(h.AsSpan(1024, 16384)));
        HeaderCrcIsValid(hdr).Should().BeTrue();
        h.AsSpan(512 + 92, 420).ToArray().Should().OnlyContain(b => b == 0);
        h.AsSpan(1024 + 16384).ToArray().Should().HaveCount(3072).And.OnlyContain(b => b == 0);
    }

    [Fact]
    public void PartitionEntries_HaveTheExpectedFields()
    {
        byte[] h = File.ReadAllBytes(_dir.File("disk-header.img"));
        CheckEntry(h.AsSpan(1024, 128), _result.PartitionGuids[0], 40, 47, "p1");
        CheckEntry(h.AsSpan(1024 + 128, 128), _result.PartitionGuids[1], 48, 55, "p2");
        h.AsSpan(1024 + 256, 16384 - 256).ToArray().Should().OnlyContain(b => b == 0);
        _result.PartitionGuids[0].Should().NotBe(_result.PartitionGuids[1]);
    }

    [Fact]
    public void Footer_IsPaddingEntriesAndBackupHeaderPointingAtBackupEntries()
    {
        byte[] h = File.ReadAllBytes(_dir.File("disk-header.img"));
        byte[] f = File.ReadAllBytes(_dir.File("disk-footer.img"));
        f.AsSpan(0, 0xE00).ToArray().Should().OnlyContain(b => b == 0);
        f.AsSpan(0xE00, 16384).SequenceEqual(h.AsSpan(1024, 16384)).Should().BeTrue("the backup entries equal the primary ones");
        ReadOnlySpan<byte> hdr = f.AsSpan(0x4E00, 92);
        Encoding.ASCII.GetString(hdr[..8]).Should().Be("EFI PART");
        BinaryPrimitives.ReadUInt64LittleEndian(hdr[24..]).Should().Be(95, "the backup header is the last LBA");
        BinaryPrimitives.ReadUInt64LittleEndian(hdr[32..]).Should().Be(1);
        BinaryPrimitives.ReadUInt64LittleEndian(hdr[40..]).Should().Be(40);
        BinaryPrimitives.ReadUInt64LittleEndian(hdr[48..]).Should().Be(62);
        new Guid(hdr.Slice(56, 16)).Should().Be(_result.DiskGuid);
        BinaryPrimitives.ReadUInt64LittleEndian(hdr[72..]).Should().Be(63, "(N + 0xE00) / 512 per UEFI, not crosvm's 2");
        BinaryPrimitives.ReadUInt32LittleEndian(hdr[88..]).Should().Be(Crc32.HashToUInt32(f.AsSpan(0xE00, 16384)));
        HeaderCrcIsValid(hdr).Should().BeTrue();
        f.AsSpan(0x4E00 + 92).ToArray().Should().HaveCount(420).And.OnlyContain(b => b == 0);
    }

    [Fact]
    public void Reader_SeesTheDescriptor_AndFlattensEveryRegion()
    {
        CompositeDisk disk = CompositeDisk.Open(_result.DescriptorPath);
        disk.Version.Should().Be(1);
        disk.Length.Should().Be(0xC000);
        disk.Path.Should().Be(_result.DescriptorPath);
        disk.Components.Should().Equal(_result.Components);

        using Stream s = disk.OpenRead();
        s.CanRead.Should().BeTrue();
        s.CanSeek.Should().BeTrue();
        s.CanWrite.Should().BeFalse();
        s.Length.Should().Be(0xC000);
        var flat = new MemoryStream();
        s.CopyTo(flat);
        byte[] b = flat.ToArray();
        b.Should().HaveCount(0xC000);
        b.AsSpan(0, 0x5000).SequenceEqual(File.ReadAllBytes(_dir.File("disk-header.img"))).Should().BeTrue();
        b.AsSpan(0x5000, 4000).SequenceEqual(TempDir.Pattern(4000, 1)).Should().BeTrue();
        b.AsSpan(0x5FA0, 0x60).ToArray().Should().OnlyContain(x => x == 0);
        b.AsSpan(0x6000, 4096).SequenceEqual(TempDir.Pattern(4096, 2)).Should().BeTrue();
        b.AsSpan(0x7000, 0x5000).SequenceEqual(File.ReadAllBytes(_dir.File("disk-footer.img"))).Should().BeTrue();
    }

    [Fact]
    public void Guids_AreVersion4()
    {
        _result.DiskGuid.Version.Should().Be(4);
        _result.PartitionGuids.Should().OnlyContain(g => g.Version == 4 && (g.Variant & 0xC) == 0x8);
    }

    private static void CheckEntry(ReadOnlySpan<byte> e, Guid unique, ulong first, ulong last, string name)
    {
        e[..16].ToArray().Should().Equal(LinuxFsTypeBytes);
        new Guid(e.Slice(16, 16)).Should().Be(unique);
        BinaryPrimitives.ReadUInt64LittleEndian(e[32..]).Should().Be(first);
        BinaryPrimitives.ReadUInt64LittleEndian(e[40..]).Should().Be(last);
        BinaryPrimitives.ReadUInt64LittleEndian(e[48..]).Should().Be(0);
        byte[] expectedName = new byte[72];
        Encoding.Unicode.GetBytes(name, expectedName);
        e.Slice(56, 72).ToArray().Should().Equal(expectedName);
    }

    private static bool HeaderCrcIsValid(ReadOnlySpan<byte> header)
    {
        byte[] copy = header.ToArray();
        uint stored = BinaryPrimitives.ReadUInt32LittleEndian(copy.AsSpan(16));
        copy.AsSpan(16, 4).Clear();
        return stored == Crc32.HashToUInt32(copy);
    }
}
