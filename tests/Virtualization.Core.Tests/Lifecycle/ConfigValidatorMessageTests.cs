using System.ComponentModel;
using Virtualization.Core.Lifecycle;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Lifecycle;

/// <summary>
/// <see cref="ConfigValidator"/>'s exact messages for the fields <see cref="ConfigValidatorTests"/> does not cover: the
/// boot source, negative sizes, the kernel command line's length limit, a disk with both an image and partitions, and
/// files that do not exist, cannot be opened as needed, or are of the wrong kind.
/// </summary>
public sealed class ConfigValidatorMessageTests : IDisposable
{
    private const string ReadOnlyForRoot = "/sys/kernel/uevent_seqnum";
    private readonly TempDir _temp = new("vct-validator-msg-");

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData("no-boot", "Kernel", "a VM needs either a Kernel or a Bootloader; neither is set.")]
    [InlineData("bootloader-and-kernel", "Bootloader", "a Bootloader loads the kernel from a disk: leave Kernel and Initrd unset, or remove the Bootloader.")]
    [InlineData("bootloader-and-initrd", "Bootloader", "a Bootloader loads the kernel from a disk: leave Kernel and Initrd unset, or remove the Bootloader.")]
    [InlineData("memory", "MemoryMib", "must not be negative (was -1); use 0 for the VMM's default.")]
    [InlineData("cpus", "CpuCount", "must not be negative (was -1); use 0 for the VMM's default.")]
    [InlineData("params", "Params", "is 11 bytes; the VMM takes at most 10 (the kernel command line is limited to 2048 bytes including what the VMM adds).")]
    [InlineData("both", "Disks[0]", "has both an Image and Partitions; give exactly one.")]
    [InlineData("null-disk", "Disks[1]", "must not be null.")]
    public void Field_Refused_WithItsExactMessage(string name, string field, string message)
    {
        string kernel = File("kernel");
        VirtualMachineRawConfig config = name switch
        {
            "no-boot" => new VirtualMachineRawConfig(),
            "bootloader-and-kernel" => new VirtualMachineRawConfig { Bootloader = kernel, Kernel = kernel },
            "bootloader-and-initrd" => new VirtualMachineRawConfig { Bootloader = kernel, Initrd = kernel },
            "memory" => new VirtualMachineRawConfig { Kernel = kernel, MemoryMib = -1 },
            "cpus" => new VirtualMachineRawConfig { Kernel = kernel, CpuCount = -1 },
            "params" => new VirtualMachineRawConfig { Kernel = kernel, Params = "console=xyz" },
            "both" => new VirtualMachineRawConfig
            {
                Kernel = kernel,
                Disks = [new DiskImage(kernel, false, [new Partition("p", kernel, false)])],
            },
            "null-disk" => new VirtualMachineRawConfig { Kernel = kernel, Disks = [new DiskImage(kernel), null!] },
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };

        Action validate = () => ConfigValidator.Validate(config, 10, out _);

        VirtualMachineConfigException thrown = validate.Should().Throw<VirtualMachineConfigException>().Which;
        thrown.Field.Should().Be(field);
        thrown.Message.Should().Be($"Invalid VM configuration: {field}: {message} (Parameter '{field}')");
    }

    [Fact]
    public void Limits_ZeroSizesAndParamsOfExactlyTheMaximum_AreAccepted()
    {
        var config = new VirtualMachineRawConfig { Kernel = File("kernel"), MemoryMib = 0, CpuCount = 0, Params = "console=xy" };

        VirtualMachineRawConfig validated = ConfigValidator.Validate(config, 10, out _);

        validated.Params.Should().Be("console=xy");
    }

    [Fact]
    public void MissingKernel_DoesNotExist_WithTheProbesException()
    {
        string missing = Path.Combine(_temp.Path, "missing");

        Action validate = () => ConfigValidator.Validate(new VirtualMachineRawConfig { Kernel = missing }, 2048, out _);

        VirtualMachineConfigException thrown = validate.Should().Throw<VirtualMachineConfigException>().Which;
        thrown.Message.Should().Be($"Invalid VM configuration: Kernel: '{missing}' does not exist. (Parameter 'Kernel')");
        thrown.InnerException.Should().BeOfType<FileNotFoundException>();
    }

    [Fact]
    public void InitrdUnderARegularFile_DoesNotExistBecauseOfThePath()
    {
        string path = Path.Combine(File("kernel"), "initrd");

        Action validate = () => ConfigValidator.Validate(new VirtualMachineRawConfig { Kernel = File("kernel"), Initrd = path }, 2048, out _);

        VirtualMachineConfigException thrown = validate.Should().Throw<VirtualMachineConfigException>().Which;
        thrown.Message.Should().Be(
            $"Invalid VM configuration: Initrd: '{path}' does not exist (a component of the path is not a directory). (Parameter 'Initrd')");
        thrown.InnerException.Should().BeOfType<Win32Exception>();
    }

    [SkippableFact]
    public void WritableDiskThatOpensOnlyForReading_IsRefused_AndTheSameReadOnlyDiskAccepted()
    {
        Skip.IfNot(System.IO.File.Exists(ReadOnlyForRoot), $"{ReadOnlyForRoot} is missing (no sysfs)");
        string kernel = File("kernel");

        Action writable = () => ConfigValidator.Validate(
            new VirtualMachineRawConfig { Kernel = kernel, Disks = [new DiskImage(ReadOnlyForRoot, writable: true)] }, 2048, out _);
        VirtualMachineRawConfig readOnly = ConfigValidator.Validate(
            new VirtualMachineRawConfig { Kernel = kernel, Disks = [new DiskImage(ReadOnlyForRoot, writable: false)] }, 2048, out _);

        writable.Should().Throw<VirtualMachineConfigException>().Which.Message.Should().Be(
            $"Invalid VM configuration: Disks[0].Image: '{ReadOnlyForRoot}' cannot be opened for reading and writing: permission denied. "
            + "(Parameter 'Disks[0].Image')");
        readOnly.Disks[0].Image.Should().Be(ReadOnlyForRoot);
    }

    [Fact]
    public void DirectoryAsKernelOrDisk_IsRefusedWithTheRuleOfTheField()
    {
        Action kernel = () => ConfigValidator.Validate(new VirtualMachineRawConfig { Kernel = _temp.Path }, 2048, out _);
        Action disk = () => ConfigValidator.Validate(
            new VirtualMachineRawConfig { Kernel = File("kernel"), Disks = [new DiskImage(_temp.Path)] }, 2048, out _);

        kernel.Should().Throw<VirtualMachineConfigException>().Which.Message.Should().Be(
            $"Invalid VM configuration: Kernel: '{_temp.Path}' is a directory; Kernel must be a regular file. (Parameter 'Kernel')");
        disk.Should().Throw<VirtualMachineConfigException>().Which.Message.Should().Be(
            $"Invalid VM configuration: Disks[0].Image: '{_temp.Path}' is a directory; a disk image must be a regular file or a block device. "
            + "(Parameter 'Disks[0].Image')");
    }

    [SkippableFact]
    public void BlockDevice_IsADiskButNotAKernel()
    {
        const string device = "/dev/loop0";
        Skip.IfNot(System.IO.File.Exists(device) && (System.IO.File.GetUnixFileMode(device) != 0), $"{device} is missing");
        Skip.If(InputFile.Probe(device, writable: false).Kind != InputFileKind.BlockDevice, $"{device} is not a block device");

        Action kernel = () => ConfigValidator.Validate(new VirtualMachineRawConfig { Kernel = device }, 2048, out _);
        VirtualMachineRawConfig disk = ConfigValidator.Validate(
            new VirtualMachineRawConfig { Kernel = File("kernel"), Disks = [new DiskImage(device)] }, 2048, out _);

        kernel.Should().Throw<VirtualMachineConfigException>().Which.Message.Should().Be(
            $"Invalid VM configuration: Kernel: '{device}' is a block device; Kernel must be a regular file. (Parameter 'Kernel')");
        disk.Disks[0].Image.Should().Be(device);
    }

    private string File(string name)
    {
        string path = Path.Combine(_temp.Path, name);
        if (!System.IO.File.Exists(path))
        {
            System.IO.File.WriteAllBytes(path, new byte[4096]);
        }

        return path;
    }
}
