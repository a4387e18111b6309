using Virtualization.Cli;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Cli;

public sealed class VmDiskCommandTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("4096", 4096L)]
    [InlineData("64K", 65536L)]
    [InlineData("64k", 65536L)]
    [InlineData("10M", 10L * 1024 * 1024)]
    [InlineData("2G", 2L * 1024 * 1024 * 1024)]
    public void SizeParser_AcceptsBinarySuffixes(string text, long expected)
    {
        SizeParser.Parse(text).Should().Be(expected);
    }

    [Theory]
    [InlineData("")]
    [InlineData("0")]
    [InlineData("K")]
    [InlineData("-1")]
    [InlineData("1.5M")]
    [InlineData("10T")]
    [InlineData("99999999999999999999")]
    [InlineData("9999999999999G")]
    public void SizeParser_RejectsBadSizes(string text)
    {
        Action act = () => SizeParser.Parse(text);

        act.Should().Throw<UsageException>();
    }

    [Fact(Timeout = 30000)]
    public async Task CreatePartition_CreatesASparseZeroFilledFileOfTheSize()
    {
        string path = _dir.File("data.img");

        CliResult result = await CliRunner.RunAsync("create-partition", path, "3M");

        result.ExitCode.Should().Be(0, result.Stderr);
        new FileInfo(path).Length.Should().Be(3 * 1024 * 1024);
        File.ReadAllBytes(path).Should().OnlyContain(b => b == 0);
        result.Stdout.Should().Contain(path);
    }

    [Fact(Timeout = 30000)]
    public async Task CreatePartition_TypeRaw_IsAccepted()
    {
        CliResult result = await CliRunner.RunAsync("create-partition", _dir.File("a.img"), "4096", "--type", "raw");

        result.ExitCode.Should().Be(0, result.Stderr);
    }

    [Fact(Timeout = 30000)]
    public async Task CreatePartition_ExistingFile_IsRefusedAndLeftAlone()
    {
        string path = _dir.CreateImage("exists.img", 100, 1);
        byte[] before = File.ReadAllBytes(path);

        CliResult result = await CliRunner.RunAsync("create-partition", path, "1M");

        result.ExitCode.Should().Be(2);
        result.Stderr.Should().Contain("already exists");
        File.ReadAllBytes(path).Should().Equal(before);
    }

    [Theory(Timeout = 30000)]
    [InlineData("12Q", "--type", "raw")]
    [InlineData("1M", "--type", "instance")]
    public async Task CreatePartition_BadSizeOrType_Exit2(string size, string option, string value)
    {
        string path = _dir.File("x.img");

        CliResult result = await CliRunner.RunAsync("create-partition", path, size, option, value);

        result.ExitCode.Should().Be(2);
        File.Exists(path).Should().BeFalse();
    }

    [Fact]
    public void ParsePartition_SplitsLabelPathAndWritable()
    {
        CreateCompositeCommand.ParsePartition("boot:/a/b.img").Should().Be(new Partition("boot", "/a/b.img", false));
        CreateCompositeCommand.ParsePartition("data:/a/c:d.img:writable").Should().Be(new Partition("data", "/a/c:d.img", true));
    }

    [Theory]
    [InlineData("nolabel")]
    [InlineData(":/a.img")]
    [InlineData("boot:")]
    [InlineData("boot::writable")]
    public void ParsePartition_RejectsBadSpecs(string spec)
    {
        Action act = () => CreateCompositeCommand.ParsePartition(spec);

        act.Should().Throw<UsageException>();
    }

    [Fact(Timeout = 30000)]
    public async Task CreateComposite_ThenInspect_RoundTrips()
    {
        string boot = _dir.CreateImage("boot.img", 5000, 3); // read-only and unaligned: needs a filler
        string data = _dir.File("data.img");
        (await CliRunner.RunAsync("create-partition", data, "64K")).ExitCode.Should().Be(0);
        string output = _dir.File("disk.img");

        CliResult create = await CliRunner.RunAsync("create-composite", output, $"boot:{boot}", $"data:{data}:writable");

        create.ExitCode.Should().Be(0, create.Stderr);
        _dir.Files().Should().Equal("boot.img", "data.img", "disk-filler.img", "disk-footer.img", "disk-header.img", "disk.img");
        CompositeDisk disk = CompositeDisk.Open(output);
        disk.Components.Select(c => c.Path).Should().Equal(
            _dir.File("disk-header.img"), boot, _dir.File("disk-filler.img"), data, _dir.File("disk-footer.img"));

        CliResult inspect = await CliRunner.RunAsync("inspect", output);

        inspect.ExitCode.Should().Be(0, inspect.Stderr);
        string[] lines = inspect.StdoutLines;
        lines[0].Should().Be("composite disk");
        lines.Should().Contain("version: 1");
        lines.Should().Contain($"length: {disk.Length} bytes");
        lines.Should().Contain("components: 5");
        foreach (CompositeDiskComponent c in disk.Components)
        {
            lines.Should().ContainSingle(l => l.EndsWith(c.Path, StringComparison.Ordinal)
                && l.TrimStart().StartsWith(c.Offset + " ", StringComparison.Ordinal)
                && l.Contains(c.Writable ? " yes " : " no ", StringComparison.Ordinal));
        }
    }

    [Fact(Timeout = 30000)]
    public async Task CreateComposite_DescriptorLandsExactlyAtTheGivenPath_WhateverItsExtension()
    {
        string part = _dir.CreateImage("p.img", 4096, 1);
        string output = _dir.File("vm.composite");

        CliResult result = await CliRunner.RunAsync("create-composite", output, $"p:{part}");

        result.ExitCode.Should().Be(0, result.Stderr);
        _dir.Files().Should().Equal("p.img", "vm-footer.img", "vm-header.img", "vm.composite");
        CompositeDisk.Open(output).Components.Should().HaveCount(3);
    }

    [Fact(Timeout = 30000)]
    public async Task CreateComposite_ExistingOutput_IsRefused()
    {
        string part = _dir.CreateImage("p.img", 4096, 1);
        string output = _dir.CreateImage("disk.img", 10, 1);

        CliResult result = await CliRunner.RunAsync("create-composite", output, $"p:{part}");

        result.ExitCode.Should().Be(2);
        result.Stderr.Should().Contain("already exists");
    }

    [Fact(Timeout = 30000)]
    public async Task CreateComposite_BadPartition_Exit2_AndLeavesNothing()
    {
        string unaligned = _dir.CreateImage("u.img", 1000, 1);

        CliResult result = await CliRunner.RunAsync("create-composite", _dir.File("disk.img"), $"u:{unaligned}:writable");

        result.ExitCode.Should().Be(2);
        result.Stderr.Should().Contain("multiple of 4096").And.NotContain("(Parameter");
        _dir.Files().Should().Equal("u.img");
    }

    [Fact(Timeout = 30000)]
    public async Task CreateComposite_MissingImage_Exit2()
    {
        CliResult result = await CliRunner.RunAsync("create-composite", _dir.File("disk.img"), $"a:{_dir.File("absent.img")}");

        result.ExitCode.Should().Be(2);
        result.Stderr.Should().Contain("does not exist");
    }

    [Fact(Timeout = 30000)]
    public async Task Inspect_RawImage_PrintsItsSize()
    {
        string raw = _dir.CreateImage("raw.img", 12345, 1);

        CliResult result = await CliRunner.RunAsync("inspect", raw);

        result.ExitCode.Should().Be(0);
        result.StdoutLines.Should().Equal("raw image, 12345 bytes");
    }

    [Fact(Timeout = 30000)]
    public async Task Inspect_MissingFile_Exit2()
    {
        CliResult result = await CliRunner.RunAsync("inspect", _dir.File("absent.img"));

        result.ExitCode.Should().Be(2);
        result.Stderr.Should().Contain("absent.img");
    }
}
