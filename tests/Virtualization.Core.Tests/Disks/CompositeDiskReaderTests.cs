using Google.Protobuf;
using Virtualization.Core.Disks;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Disks;

/// <summary>The public reader: descriptor parsing, path resolution, rejection of bad descriptors, the flattened stream.</summary>
public sealed class CompositeDiskReaderTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Writes a descriptor by hand with Google.Protobuf, independent of the library's encoder.</summary>
    private string WriteDescriptor(string name, ulong? version, ulong? length, params (string Path, ulong Offset, bool Rw)[] components) =>
        WriteDescriptor(name, version, length, [.. components.Select(c => (c.Path, c.Offset, c.Rw, 0UL))]);

    /// <summary>As above, with each component's <c>file_offset</c> (field 4, tag 0x20: docs/composite-disks.md, crosvm.md).</summary>
    private string WriteDescriptor(string name, ulong? version, ulong? length, (string Path, ulong Offset, bool Rw, ulong FileOffset)[] components)
    {
        var ms = new MemoryStream();
        ms.Write(DescriptorDecoder.Magic);
        var o = new CodedOutputStream(ms, leaveOpen: true);
        if (version is ulong v)
        {
            o.WriteTag(1, WireFormat.WireType.Varint);
            o.WriteUInt64(v);
        }

        foreach ((string path, ulong offset, bool rw, ulong fileOffset) in components)
        {
            var inner = new MemoryStream();
            var io = new CodedOutputStream(inner, leaveOpen: true);
            io.WriteTag(1, WireFormat.WireType.LengthDelimited);
            io.WriteString(path);
            io.WriteTag(2, WireFormat.WireType.Varint);
            io.WriteUInt64(offset);
            io.WriteTag(3, WireFormat.WireType.Varint);
            io.WriteEnum(rw ? 1 : 0);
            if (fileOffset != 0)
            {
                io.WriteTag(4, WireFormat.WireType.Varint);
                io.WriteUInt64(fileOffset);
            }

            io.WriteTag(99, WireFormat.WireType.Varint); // unknown field: must be skipped
            io.WriteUInt64(7);
            io.Flush();
            o.WriteTag(2, WireFormat.WireType.LengthDelimited);
            o.WriteBytes(ByteString.CopyFrom(inner.ToArray()));
        }

        if (length is ulong l)
        {
            o.WriteTag(3, WireFormat.WireType.Varint);
            o.WriteUInt64(l);
        }

        o.Flush();
        string p = _dir.File(name);
        File.WriteAllBytes(p, ms.ToArray());
        return p;
    }

    [Fact]
    public void Components_AreSorted_AndRelativePathsResolveAgainstTheDescriptorFolder()
    {
        string d = WriteDescriptor("v2.img", 2, 300, ("b.bin", 100, true), ("/abs/a.bin", 0, false), ("sub/../c.bin", 200, false));

        CompositeDisk disk = CompositeDisk.Open(d);

        disk.Version.Should().Be(2);
        disk.Length.Should().Be(300);
        disk.Path.Should().Be(d);
        disk.Components.Should().Equal(
            new CompositeDiskComponent("/abs/a.bin", 0, false),
            new CompositeDiskComponent(_dir.File("b.bin"), 100, true),
            new CompositeDiskComponent(_dir.File("c.bin"), 200, false));
    }

    [Fact]
    public void OmittedVersion_ReadsAsZero()
    {
        CompositeDisk.Open(WriteDescriptor("v0.img", null, 10, ("/x", 0, false))).Version.Should().Be(0);
    }

    [Fact]
    public void LibraryEncoder_RoundTripsFileOffset()
    {
        CompositeDiskComponent[] comps = [new("/a", 0, false) { FileOffset = 4096 }, new("/b", 512, true)];
        byte[] message = CompositeDiskDescriptor.EncodeMessage(1, comps, 1024);
        string p = _dir.File("fo.img");
        File.WriteAllBytes(p, [.. DescriptorDecoder.Magic, .. message]);

        CompositeDisk.Open(p).Components.Should().Equal(comps);
    }

    [Fact]
    public void BadMagic_IsRejected()
    {
        File.WriteAllBytes(_dir.File("raw.img"), new byte[4096]);
        Action act = () => CompositeDisk.Open(_dir.File("raw.img"));
        act.Should().Throw<InvalidDataException>().WithMessage("*magic*");
    }

    [Fact]
    public void MalformedProtobuf_IsRejected()
    {
        File.WriteAllBytes(_dir.File("bad.img"), [.. DescriptorDecoder.Magic, 0x12, 0x7F, 0x01]); // length 127, 1 byte present
        Action act = () => CompositeDisk.Open(_dir.File("bad.img"));
        act.Should().Throw<InvalidDataException>().WithMessage("Malformed*");
    }

    [Fact]
    public void UnknownVersion_IsRejected()
    {
        Action act = () => CompositeDisk.Open(WriteDescriptor("v3.img", 3, 10, ("/x", 0, false)));
        act.Should().Throw<InvalidDataException>().WithMessage("*unknown composite disk version 3*");
    }

    [Fact]
    public void NoComponents_IsRejected()
    {
        Action act = () => CompositeDisk.Open(WriteDescriptor("none.img", 1, 10));
        act.Should().Throw<InvalidDataException>().WithMessage("*no components*");
    }

    [Fact]
    public void TwoComponentsAtOneOffset_AreRejected()
    {
        Action act = () => CompositeDisk.Open(WriteDescriptor("dup.img", 1, 100, ("/x", 0, false), ("/y", 0, false)));
        act.Should().Throw<InvalidDataException>().WithMessage("*two components at offset 0*");
    }

    [Fact]
    public void Length_NotBeyondLastOffset_IsRejected()
    {
        Action act = () => CompositeDisk.Open(WriteDescriptor("len.img", 1, 50, ("/x", 0, false), ("/y", 50, false)));
        act.Should().Throw<InvalidDataException>().WithMessage("*length 50 is not beyond the last component's offset 50*");
    }

    [Fact]
    public void MissingDescriptor_ThrowsFileNotFound()
    {
        Action act = () => CompositeDisk.Open(_dir.File("nothing.img"));
        act.Should().Throw<FileNotFoundException>();
    }

    [Fact]
    public void Stream_ReadsAcrossBoundariesWithZerosForGapsShortAndMissingFiles()
    {
        File.WriteAllBytes(_dir.File("a.bin"), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]); // range [10, 20)
        File.WriteAllBytes(_dir.File("b.bin"), [21, 22, 23]); // range [20, 30), short: 7 zero bytes follow
        // c.bin (range [30, 40)) does not exist: zeros
        File.WriteAllBytes(_dir.File("d.bin"), [41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 99, 99]); // range [40, 50): extra bytes ignored
        string desc = WriteDescriptor("s.img", 2, 50, ("a.bin", 10, false), ("b.bin", 20, false), ("c.bin", 30, false), ("d.bin", 40, true));

        using Stream s = CompositeDisk.Open(desc).OpenRead();
        byte[] all = new byte[64];
        int n = s.ReadAtLeast(all, 64, throwOnEndOfStream: false);

        n.Should().Be(50);
        all.AsSpan(0, 50).ToArray().Should().Equal(
        [
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
            21, 22, 23, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            41, 42, 43, 44, 45, 46, 47, 48, 49, 50,
        ]);
        s.Read(new byte[10]).Should().Be(0, "end of disk");

        s.Seek(-12, SeekOrigin.End).Should().Be(38);
        byte[] tail = new byte[5];
        s.Read(tail).Should().Be(5);
        tail.Should().Equal(0, 0, 41, 42, 43);
        s.Position.Should().Be(43);

        s.Position = 17;
        byte[] cross = new byte[6];
        s.Read(cross, 0, 6).Should().Be(6);
        cross.Should().Equal(8, 9, 10, 21, 22, 23);

        s.Seek(-1, SeekOrigin.Current).Should().Be(22);
        s.ReadByte().Should().Be(23);

        Action write = () => s.Write([1], 0, 1);
        write.Should().Throw<NotSupportedException>();
        Action setLength = () => s.SetLength(1);
        setLength.Should().Throw<NotSupportedException>();
        Action before = () => s.Seek(-1, SeekOrigin.Begin);
        before.Should().Throw<IOException>();
    }

    [Fact]
    public void Stream_ReadsEachComponentFromItsFileOffset()
    {
        File.WriteAllBytes(_dir.File("a.bin"), [.. Enumerable.Range(0, 100).Select(i => (byte)i)]);
        File.WriteAllBytes(_dir.File("b.bin"), [200, 201, 202, 203, 204, 205, 206, 207, 208, 209]);
        // Disk [0, 8): a.bin from byte 50; [8, 12): b.bin from byte 6; [12, 16): b.bin from byte 8, short after 2 bytes;
        // [16, 20): a.bin from beyond its end (zeros).
        string desc = WriteDescriptor("fo.img", 2, 20, [
            ("a.bin", 0, false, 50),
            ("b.bin", 8, false, 6),
            ("b.bin", 12, false, 8),
            ("a.bin", 16, false, 1000),
        ]);

        CompositeDisk disk = CompositeDisk.Open(desc);
        disk.Components.Select(c => c.FileOffset).Should().Equal(50, 6, 8, 1000);
        using Stream s = disk.OpenRead();
        byte[] all = new byte[20];
        s.ReadAtLeast(all, 20, throwOnEndOfStream: false).Should().Be(20);

        all.Should().Equal(50, 51, 52, 53, 54, 55, 56, 57, 206, 207, 208, 209, 208, 209, 0, 0, 0, 0, 0, 0);
        s.Position = 5;
        byte[] cross = new byte[4];
        s.Read(cross).Should().Be(4);
        cross.Should().Equal(55, 56, 57, 206);
    }

    [Fact(Timeout = 30_000)]
    public async Task AsyncReads_MatchSyncReadsInOddChunks()
    {
        string p1 = _dir.CreateImage("p1.img", 4000, 1);
        string p2 = _dir.CreateImage("p2.img", 12288, 2);
        CompositeDiskBuildResult r = CompositeDiskBuilder.Build([new Partition("a", p1, false), new Partition("b", p2, true)], _dir.Path, "disk");
        CompositeDisk disk = CompositeDisk.Open(r.DescriptorPath);

        byte[] whole = new byte[disk.Length];
        using (Stream s = disk.OpenRead())
        {
            s.ReadExactly(whole);
        }

        var chunked = new MemoryStream();
        using (Stream s = disk.OpenRead())
        {
            byte[] buffer = new byte[777];
            int n;
            while ((n = await s.ReadAsync(buffer)) > 0)
            {
                chunked.Write(buffer, 0, n);
            }
        }

        chunked.ToArray().Should().Equal(whole);
        whole.AsSpan(0x5000, 4000).SequenceEqual(TempDir.Pattern(4000, 1)).Should().BeTrue();
        whole.AsSpan(0x6000, 12288).SequenceEqual(TempDir.Pattern(12288, 2)).Should().BeTrue();
    }

    [Fact]
    public void DisposedStream_Throws()
    {
        string d = WriteDescriptor("x.img", 1, 10, ("/x", 0, false));
        Stream s = CompositeDisk.Open(d).OpenRead();
        s.Dispose();
        s.CanRead.Should().BeFalse();
        Action read = () => s.ReadExactly(new byte[1]);
        read.Should().Throw<ObjectDisposedException>();
    }
}
