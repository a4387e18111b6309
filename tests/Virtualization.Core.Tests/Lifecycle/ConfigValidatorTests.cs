using Virtualization.Core.Disks;
using Virtualization.Core.Lifecycle;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Lifecycle;

/// <summary>
/// <see cref="ConfigValidator"/> alone (no service): the configuration it returns (absolute paths) and the exact
/// messages of what it refuses. The service-level cases (nothing reserved on failure) are in
/// <see cref="ConfigValidationTests"/>.
/// </summary>
public sealed class ConfigValidatorTests : IDisposable
{
    /// <summary>A regular file (4096 bytes) that opens for reading but not for writing, not even as root (sysfs).</summary>
    private const string ReadOnlyForRoot = "/sys/kernel/uevent_seqnum";

    private readonly TempDir _temp = new("vct-validator-");

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData(" ")]
    [InlineData("~")]
    [InlineData("console=ttyS0 a~b")]
    public void Params_PrintableAsciiBoundaries_AreAccepted(string kernelParams)
    {
        VirtualMachineRawConfig validated = ConfigValidator.Validate(Config() with { Params = kernelParams }, 2048, out _);

        validated.Params.Should().Be(kernelParams);
    }

    [Theory]
    [InlineData("ab\u001F", "U+001F", 2)]
    [InlineData("\u007F", "U+007F", 0)]
    public void Params_JustOutsidePrintableAscii_AreRefusedNamingTheCharacter(string kernelParams, string code, int index)
    {
        Action validate = () => ConfigValidator.Validate(Config() with { Params = kernelParams }, 2048, out _);

        validate.Should().Throw<VirtualMachineConfigException>().Which.Message.Should().Be(
            $"Invalid VM configuration: Params: must be printable ASCII (0x20-0x7E); character {index} is {code}. "
            + "Encode other data (for example as base64). (Parameter 'Params')");
    }

    [Fact]
    public void Disk_WithNullPartitionsAndAnImage_IsAnImageDisk()
    {
        string image = File("disk.img", 4096);

        VirtualMachineRawConfig validated = ConfigValidator.Validate(
            Config() with { Disks = [new DiskImage(image, false, null!)] }, 2048, out CompositeDiskPlan?[] plans);

        DiskImage disk = validated.Disks.Should().ContainSingle().Subject;
        disk.Image.Should().Be(image);
        disk.Partitions.Should().BeEmpty("null partitions count as none");
        plans.Should().ContainSingle().Which.Should().BeNull("an image disk has no composite plan");
    }

    [Fact]
    public void Disk_WithNullPartitionsAndNoImage_IsRefusedAsNeither()
    {
        Action validate = () => ConfigValidator.Validate(Config() with { Disks = [new DiskImage(null, false, null!)] }, 2048, out _);

        validate.Should().Throw<VirtualMachineConfigException>().Which.Message.Should().Be(
            "Invalid VM configuration: Disks[0]: has neither an Image nor Partitions; give exactly one. (Parameter 'Disks[0]')");
    }

    [Fact]
    public void Partition_RelativeImagePath_IsMadeAbsolute()
    {
        string image = File("part.img", 4096);
        string relative = Path.GetRelativePath(Environment.CurrentDirectory, image);
        relative.Should().NotStartWith("/");

        VirtualMachineRawConfig validated = ConfigValidator.Validate(
            Config() with { Disks = [new DiskImage(null, false, [new Partition("root", relative, false)])] }, 2048, out _);

        validated.Disks[0].Partitions.Should().Equal(new Partition("root", image, false));
    }

    [Fact]
    public void Partition_AbsoluteImagePath_IsKept()
    {
        string image = File("part.img", 4096);

        VirtualMachineRawConfig validated = ConfigValidator.Validate(
            Config() with { Disks = [new DiskImage(null, false, [new Partition("root", image, true)])] }, 2048, out CompositeDiskPlan?[] plans);

        validated.Disks[0].Partitions.Should().Equal(new Partition("root", image, true));
        plans.Should().ContainSingle().Which.Should().NotBeNull();
    }

    public static TheoryData<string, string, string> BadPartitions => new()
    {
        // case, field, message (after "Invalid VM configuration: {field}: ")
        { "empty-image", "Disks[0].Partitions[0].Image", "Partition 'root': the image path is empty." },
        { "nul-image", "Disks[0].Partitions[0].Image", "Partition 'root': the image path contains a NUL character, which no Linux path can hold." },
        { "null-partition", "Disks[0].Partitions[1]", "Partition #1 is null." },
        { "empty-label", "Disks[0].Partitions[0].Label", "Partition #0 (image '/nonexistent/x.img') has an empty label." },
    };

    [Theory]
    [MemberData(nameof(BadPartitions))]
    public void Partition_Refused_NamesThePartitionFieldWithTheBuildersMessageWithoutItsParameterSuffix(string name, string field, string message)
    {
        string image = File("part.img", 4096);
        Partition[] partitions = name switch
        {
            "empty-image" => [new Partition("root", string.Empty, false)],
            "nul-image" => [new Partition("root", "a\0b", false)],
            "null-partition" => [new Partition("root", image, false), null!],
            "empty-label" => [new Partition(string.Empty, "/nonexistent/x.img", false)],
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };

        Action validate = () => ConfigValidator.Validate(Config() with { Disks = [new DiskImage(null, false, partitions)] }, 2048, out _);

        VirtualMachineConfigException thrown = validate.Should().Throw<VirtualMachineConfigException>().Which;
        thrown.Field.Should().Be(field);
        thrown.Message.Should().Be($"Invalid VM configuration: {field}: {message} (Parameter '{field}')");
        thrown.InnerException.Should().BeOfType<ArgumentException>();
    }

    public static TheoryData<string, string, string> BadFields => new()
    {
        // case, field, message (after "Invalid VM configuration: {field}: ")
        { "null-disks", "Disks", "must not be null; use an empty list for a VM without disks." },
        { "empty-kernel", "Kernel", "is an empty path: give the path of a file, or leave it unset (null)." },
        { "nul-initrd", "Initrd", "contains a NUL character, which no Linux path can hold." },
    };

    [Theory]
    [MemberData(nameof(BadFields))]
    public void Field_Refused_WithItsExactMessage(string name, string field, string message)
    {
        VirtualMachineRawConfig config = name switch
        {
            "null-disks" => Config() with { Disks = null! },
            "empty-kernel" => new VirtualMachineRawConfig { Kernel = string.Empty },
            "nul-initrd" => Config() with { Initrd = "initrd\0.img" },
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };

        Action validate = () => ConfigValidator.Validate(config, 2048, out _);

        VirtualMachineConfigException thrown = validate.Should().Throw<VirtualMachineConfigException>().Which;
        thrown.Field.Should().Be(field);
        thrown.Message.Should().Be($"Invalid VM configuration: {field}: {message} (Parameter '{field}')");
    }

    [SkippableFact]
    public void KernelAndInitrd_ThatCannotBeOpenedForWriting_AreAccepted()
    {
        RequireReadOnlyForRoot();

        VirtualMachineRawConfig validated = ConfigValidator.Validate(
            new VirtualMachineRawConfig { Kernel = ReadOnlyForRoot, Initrd = ReadOnlyForRoot }, 2048, out _);

        validated.Kernel.Should().Be(ReadOnlyForRoot, "the VMM only reads the kernel");
        validated.Initrd.Should().Be(ReadOnlyForRoot, "and the initrd");
    }

    [SkippableFact]
    public void Bootloader_ThatCannotBeOpenedForWriting_IsAccepted()
    {
        RequireReadOnlyForRoot();

        VirtualMachineRawConfig validated = ConfigValidator.Validate(new VirtualMachineRawConfig { Bootloader = ReadOnlyForRoot }, 2048, out _);

        validated.Bootloader.Should().Be(ReadOnlyForRoot, "the VMM only reads the bootloader");
    }

    private static void RequireReadOnlyForRoot()
    {
        Skip.IfNot(System.IO.File.Exists(ReadOnlyForRoot), $"{ReadOnlyForRoot} is missing (no sysfs)");
        Action openForWriting = () => new FileStream(ReadOnlyForRoot, FileMode.Open, FileAccess.ReadWrite).Dispose();
        openForWriting.Should().Throw<UnauthorizedAccessException>("the test needs a file nobody can open for writing");
    }

    private VirtualMachineRawConfig Config() => new() { Kernel = File("kernel", 4096) };

    private string File(string name, int size)
    {
        string path = Path.Combine(_temp.Path, name);
        if (!System.IO.File.Exists(path))
        {
            System.IO.File.WriteAllBytes(path, new byte[size]);
        }

        return path;
    }
}
