using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Disks;

/// <summary>The public writer, <see cref="CompositeDisk.Create"/> (what <c>vm create-composite</c> uses), and <see cref="CompositeDisk.IsDescriptor"/>.</summary>
public sealed class CompositeDiskCreateTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Create_WritesTheDescriptorAtThePath_AndHeaderFillerFooterNextToIt()
    {
        string p1 = _dir.CreateImage("p1.img", 4000, 1);   // read-only and not 4 KiB aligned: needs the filler
        string p2 = _dir.CreateImage("p2.img", 12288, 2);
        string path = _dir.File("my.disk");

        CompositeDisk disk = CompositeDisk.Create([new Partition("a", p1, false), new Partition("b", p2, true)], path);

        disk.Path.Should().Be(path);
        disk.Length.Should().Be(0xE000, "0x5000 header + 4096 (p1 padded) + 12288 (p2) + 0x5000 footer");
        disk.Components.Should().Equal(
            new CompositeDiskComponent(_dir.File("my-header.img"), 0, false),
            new CompositeDiskComponent(p1, 0x5000, false),
            new CompositeDiskComponent(_dir.File("my-filler.img"), 0x5000 + 4000, false),
            new CompositeDiskComponent(p2, 0x6000, true),
            new CompositeDiskComponent(_dir.File("my-footer.img"), 0x9000, false));
        Directory.GetFiles(_dir.Path).Select(Path.GetFileName).Should().BeEquivalentTo(
            ["p1.img", "p2.img", "my.disk", "my-header.img", "my-filler.img", "my-footer.img"]);
        CompositeDisk.IsDescriptor(path).Should().BeTrue();
        CompositeDisk.IsDescriptor(p1).Should().BeFalse();
    }

    [Fact]
    public void Create_PathExists_ThrowsAndLeavesEverythingAsItWas()
    {
        string p1 = _dir.CreateImage("p1.img", 4096, 1);
        string path = _dir.CreateImage("taken.img", 10, 9);

        Action create = () => CompositeDisk.Create([new Partition("a", p1, false)], path);

        create.Should().Throw<IOException>().WithMessage("*already exists*");
        File.ReadAllBytes(path).Should().Equal(TempDir.Pattern(10, 9));
        Directory.GetFiles(_dir.Path).Select(Path.GetFileName).Should().BeEquivalentTo(["p1.img", "taken.img"]);
    }

    [Fact]
    public void Create_DuplicateLabels_ThrowsArgumentExceptionAndWritesNothing()
    {
        string p1 = _dir.CreateImage("p1.img", 4096, 1);

        Action create = () => CompositeDisk.Create([new Partition("a", p1, false), new Partition("a", p1, false)], _dir.File("d.img"));

        create.Should().Throw<ArgumentException>().WithMessage("*'a'*");
        Directory.GetFiles(_dir.Path).Select(Path.GetFileName).Should().Equal("p1.img");
    }

    [Fact]
    public void IsDescriptor_ShortFile_IsFalse()
    {
        CompositeDisk.IsDescriptor(_dir.CreateImage("short.img", 3, 0)).Should().BeFalse();
    }
}
