using System.Runtime.Versioning;
using Virtualization.Core.Disks;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Disks;

/// <summary>Every validation error: thrown before anything is written, deriving from ArgumentException, naming the partition and field.</summary>
public sealed class CompositeDiskValidationTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly TempDir _out = new();

    public void Dispose()
    {
        _dir.Dispose();
        _out.Dispose();
    }

    [Fact]
    public void NullList_IsRejected()
    {
        Action act = () => CompositeDiskBuilder.Validate(null!);
        act.Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("partitions");
    }

    [Fact]
    public void EmptyList_IsRejected()
    {
        ExpectBuildFailure([], "partitions", "at least one partition");
    }

    [Fact]
    public void MoreThan128Partitions_AreRejected()
    {
        string img = _dir.CreateImage("a.img", 4096, 1);
        Partition[] many = [.. Enumerable.Range(0, 129).Select(i => new Partition($"p{i}", img, false))];
        ExpectBuildFailure(many, "partitions", "at most 128 partitions; 129 were given");
    }

    [Fact]
    public void NullPartition_IsRejected()
    {
        ExpectBuildFailure([new Partition("a", _dir.CreateImage("a.img", 4096, 1), false), null!], "partitions[1]", "Partition #1 is null");
    }

    [Fact]
    public void DuplicateLabels_AreRejected()
    {
        string a = _dir.CreateImage("a.img", 4096, 1);
        string b = _dir.CreateImage("b.img", 4096, 2);
        ExpectBuildFailure(
            [new Partition("system", a, false), new Partition("vendor", a, false), new Partition("system", b, true)],
            "partitions[2].Label", "Partition 'system': the label is used by partitions #0 and #2");
    }

    [Fact]
    public void Labels_DifferingOnlyInCase_AreDistinct()
    {
        string a = _dir.CreateImage("a.img", 4096, 1);
        CompositeDiskBuilder.Validate([new Partition("boot", a, false), new Partition("BOOT", a, false)]).Partitions.Should().HaveCount(2);
    }

    [Fact]
    public void Label_Over36CodeUnits_IsRejected()
    {
        string a = _dir.CreateImage("a.img", 4096, 1);
        string label = new('x', 37);
        ExpectBuildFailure([new Partition(label, a, false)], "partitions[0].Label", $"Partition '{label}': the label is 37 UTF-16 code units long; GPT names hold at most 36");
    }

    [Fact]
    public void LabelLength_CountsUtf16CodeUnitsNotCharacters()
    {
        string a = _dir.CreateImage("a.img", 4096, 1);
        string ok = string.Concat(Enumerable.Repeat("😀", 18)); // 36 code units
        string tooLong = ok + "x"; // 37 code units, 19 text elements
        CompositeDiskBuilder.Validate([new Partition(ok, a, false)]).Partitions[0].Label.Should().Be(ok);
        CompositeDiskBuilder.Validate([new Partition(new string('y', 36), a, false)]).Partitions.Should().ContainSingle();
        ExpectBuildFailure([new Partition(tooLong, a, false)], "partitions[0].Label", "37 UTF-16 code units");
    }

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    public void EmptyLabel_IsRejected(string? label)
    {
        string a = _dir.CreateImage("a.img", 4096, 1);
        ExpectBuildFailure([new Partition("ok", a, false), new Partition(label!, a, false)], "partitions[1].Label", "Partition #1 (image '" + a + "') has an empty label");
    }

    [Fact]
    public void Label_WithNul_IsRejected()
    {
        string a = _dir.CreateImage("a.img", 4096, 1);
        ExpectBuildFailure([new Partition("a\0b", a, false)], "partitions[0].Label", "contains a NUL character");
    }

    [Fact]
    public void MissingImage_IsRejected()
    {
        string missing = _dir.File("nope.img");
        ArgumentException ex = ExpectBuildFailure([new Partition("root", missing, false)], "partitions[0].Image", $"Partition 'root': the image '{missing}' does not exist");
        ex.InnerException.Should().BeOfType<FileNotFoundException>();
    }

    [Fact]
    public void Image_InMissingFolder_IsRejected()
    {
        string missing = _dir.File("no-such-dir/x.img");
        ExpectBuildFailure([new Partition("root", missing, true)], "partitions[0].Image", "does not exist");
    }

    [Fact]
    public void EmptyImagePath_IsRejected()
    {
        ExpectBuildFailure([new Partition("root", "", false)], "partitions[0].Image", "Partition 'root': the image path is empty");
    }

    [Fact]
    public void DirectoryAsImage_IsRejectedAsADirectory()
    {
        ExpectBuildFailure(
            [new Partition("root", _dir.Path, false)],
            "partitions[0].Image",
            $"Partition 'root': the image '{_dir.Path}' is a directory; a partition image must be a regular file or a block device");
    }

    [SkippableFact]
    [Trait("Requires", "non-root")]
    [UnsupportedOSPlatform("windows")]
    public void UnreadableImage_IsRejected()
    {
        Skip.If(Environment.IsPrivilegedProcess, "running as root: file permissions do not stop root from reading");
        string a = _dir.CreateImage("secret.img", 4096, 1);
        File.SetUnixFileMode(a, UnixFileMode.None);
        ExpectBuildFailure([new Partition("secret", a, false)], "partitions[0].Image", "Partition 'secret': the image '" + a + "' cannot be opened for reading: permission denied");
    }

    [SkippableFact]
    [Trait("Requires", "non-root")]
    [UnsupportedOSPlatform("windows")]
    public void WritableImage_WithoutWritePermission_IsRejected()
    {
        Skip.If(Environment.IsPrivilegedProcess, "running as root: file permissions do not stop root from writing");
        string a = _dir.CreateImage("ro.img", 4096, 1);
        File.SetUnixFileMode(a, UnixFileMode.UserRead);
        ExpectBuildFailure([new Partition("data", a, true)], "partitions[0].Image", "cannot be opened for reading and writing");
    }

    [Fact]
    public void EmptyImageFile_IsRejected()
    {
        string a = _dir.CreateImage("empty.img", 0, 1);
        ExpectBuildFailure([new Partition("empty", a, false)], "partitions[0].Image", "is empty (0 bytes)");
    }

    [Fact]
    public void WritableImage_Not4KAligned_IsRejected()
    {
        string ro = _dir.CreateImage("ro.img", 4000, 1);
        string rw = _dir.CreateImage("rw.img", 4097, 2);
        ExpectBuildFailure(
            [new Partition("ro", ro, false), new Partition("userdata", rw, true)],
            "partitions[1].Image", "Partition 'userdata': the writable image '" + rw + "' is 4097 bytes, not a multiple of 4096");
    }

    [Fact]
    public void ReadOnlyUnalignedAndWritableAligned_AreAccepted()
    {
        CompositeDiskPlan plan = CompositeDiskBuilder.Validate(
            [new Partition("ro", _dir.CreateImage("ro.img", 1, 1), false), new Partition("rw", _dir.CreateImage("rw.img", 8192, 2), true)]);
        plan.Partitions.Select(p => (p.Offset, p.Size, p.AlignedSize, p.NeedsFiller)).Should().Equal((0x5000L, 1L, 4096L, true), (0x6000L, 8192L, 8192L, false));
        plan.FooterOffset.Should().Be(0x8000);
        plan.Length.Should().Be(0xD000);
        plan.HasWritablePartition.Should().BeTrue();
    }

    [Fact]
    public void RelativeImagePaths_BecomeAbsolute()
    {
        _dir.CreateImage("rel.img", 4096, 1);
        string relative = Path.GetRelativePath(Environment.CurrentDirectory, _dir.File("rel.img"));
        CompositeDiskBuilder.Validate([new Partition("rel", relative, false)]).Partitions[0].ImagePath.Should().Be(_dir.File("rel.img"));
    }

    [Fact]
    public void Sizes_ThatOverflow_AreRejected()
    {
        Partition[] parts = [new Partition("a", "/a", false), new Partition("b", "/b", false)];
        Action act = () => CompositeDiskBuilder.Plan(parts, [long.MaxValue / 2, long.MaxValue / 2], ["/a", "/b"]);
        act.Should().Throw<ArgumentOutOfRangeException>()
            .Where(e => e.ParamName == "partitions[1].Image" && e.Message.Contains("Partition 'b'", StringComparison.Ordinal) && e.Message.Contains("overflows", StringComparison.Ordinal));

        Action single = () => CompositeDiskBuilder.Plan([parts[0]], [long.MaxValue], ["/a"]);
        single.Should().Throw<ArgumentException>().Which.ParamName.Should().Be("partitions[0].Image");

        // The largest size that fits is accepted and the total stays a positive long.
        long max = long.MaxValue - 0x5000 - 4095 - 0x5000;
        CompositeDiskPlan plan = CompositeDiskBuilder.Plan([parts[0]], [max], ["/a"]);
        plan.Length.Should().BePositive();
        plan.Length.Should().Be(0x5000 + ((max + 4095) & ~4095L) + 0x5000);
    }

    [Fact]
    public void OutputFolder_MustExist_AndBaseNameMustBeAFileName()
    {
        CompositeDiskPlan plan = CompositeDiskBuilder.Validate([new Partition("a", _dir.CreateImage("a.img", 4096, 1), false)]);
        Action missing = () => CompositeDiskBuilder.Build(plan, _out.File("missing"), "disk");
        missing.Should().Throw<ArgumentException>().Which.ParamName.Should().Be("outputDirectory");
        Action slash = () => CompositeDiskBuilder.Build(plan, _out.Path, "sub/disk");
        slash.Should().Throw<ArgumentException>().Which.ParamName.Should().Be("baseName");
        Action empty = () => CompositeDiskBuilder.Build(plan, _out.Path, "");
        empty.Should().Throw<ArgumentException>().Which.ParamName.Should().Be("baseName");
        _out.Files().Should().BeEmpty();
    }

    private ArgumentException ExpectBuildFailure(Partition[] partitions, string paramName, string messagePart)
    {
        Action validate = () => CompositeDiskBuilder.Validate(partitions);
        ArgumentException ex = validate.Should().Throw<ArgumentException>().Which;
        ex.ParamName.Should().Be(paramName);
        ex.Message.Should().Contain(messagePart);

        Action build = () => CompositeDiskBuilder.Build(partitions, _out.Path, "disk");
        build.Should().Throw<ArgumentException>().Which.Message.Should().Be(ex.Message);
        _out.Files().Should().BeEmpty("validation fails before anything is written");
        return ex;
    }
}
