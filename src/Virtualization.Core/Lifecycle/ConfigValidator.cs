using Virtualization.Core.Disks;

namespace Virtualization.Core.Lifecycle;

/// <summary>
/// Checks a configuration completely before anything is reserved, and returns it with every path made absolute
/// (relative paths resolve against the current directory at create time, not at start time).
/// </summary>
internal static class ConfigValidator
{
    /// <summary>Validates <paramref name="config"/>.</summary>
    /// <param name="config">The configuration to check.</param>
    /// <param name="maxParamsLength">The longest kernel command line the VMM takes.</param>
    /// <param name="plans">For each disk, the layout of its composite image when it has partitions, else null.</param>
    /// <returns>The configuration with absolute paths.</returns>
    /// <exception cref="VirtualMachineConfigException">Something is wrong; the exception names the field.</exception>
    internal static VirtualMachineRawConfig Validate(VirtualMachineRawConfig config, int maxParamsLength, out CompositeDiskPlan?[] plans)
    {
        if (config.Kernel is null && config.Bootloader is null)
        {
            throw new VirtualMachineConfigException(nameof(config.Kernel), "a VM needs either a Kernel or a Bootloader; neither is set.");
        }

        if (config.Bootloader is not null && (config.Kernel is not null || config.Initrd is not null))
        {
            throw new VirtualMachineConfigException(
                nameof(config.Bootloader),
                "a Bootloader loads the kernel from a disk: leave Kernel and Initrd unset, or remove the Bootloader.");
        }

        if (config.MemoryMib < 0)
        {
            throw new VirtualMachineConfigException(nameof(config.MemoryMib), $"must not be negative (was {config.MemoryMib}); use 0 for the VMM's default.");
        }

        if (config.CpuCount < 0)
        {
            throw new VirtualMachineConfigException(nameof(config.CpuCount), $"must not be negative (was {config.CpuCount}); use 0 for the VMM's default.");
        }

        if (config.Params is { } kernelParams)
        {
            ValidateParams(kernelParams, maxParamsLength);
        }

        if (config.Disks is null)
        {
            throw new VirtualMachineConfigException(nameof(config.Disks), "must not be null; use an empty list for a VM without disks.");
        }

        var disks = new DiskImage[config.Disks.Count];
        plans = new CompositeDiskPlan?[disks.Length];
        for (int i = 0; i < disks.Length; i++)
        {
            disks[i] = ValidateDisk(config.Disks[i], $"Disks[{i}]", out plans[i]);
        }

        return config with
        {
            Kernel = ReadableFile(config.Kernel, nameof(config.Kernel), writable: false),
            Initrd = ReadableFile(config.Initrd, nameof(config.Initrd), writable: false),
            Bootloader = ReadableFile(config.Bootloader, nameof(config.Bootloader), writable: false),
            Disks = disks,
        };
    }

    private static void ValidateParams(string kernelParams, int maxParamsLength)
    {
        for (int i = 0; i < kernelParams.Length; i++)
        {
            char c = kernelParams[i];
            if (c < 0x20 || c > 0x7E)
            {
                throw new VirtualMachineConfigException(
                    nameof(VirtualMachineRawConfig.Params),
                    $"must be printable ASCII (0x20-0x7E); character {i} is U+{(int)c:X4}. Encode other data (for example as base64).");
            }
        }

        if (kernelParams.Length > maxParamsLength)
        {
            throw new VirtualMachineConfigException(
                nameof(VirtualMachineRawConfig.Params),
                $"is {kernelParams.Length} bytes; the VMM takes at most {maxParamsLength} (the kernel command line is limited to 2048 bytes including what the VMM adds).");
        }
    }

    private static DiskImage ValidateDisk(DiskImage? disk, string field, out CompositeDiskPlan? plan)
    {
        plan = null;
        if (disk is null)
        {
            throw new VirtualMachineConfigException(field, "must not be null.");
        }

        IReadOnlyList<Partition> partitions = disk.Partitions ?? [];
        bool hasImage = disk.Image is not null;
        bool hasPartitions = partitions.Count > 0;
        if (hasImage == hasPartitions)
        {
            throw new VirtualMachineConfigException(
                field,
                hasImage
                    ? "has both an Image and Partitions; give exactly one."
                    : "has neither an Image nor Partitions; give exactly one.");
        }

        if (hasImage)
        {
            return disk with { Image = ReadableFile(disk.Image, field + ".Image", disk.Writable, blockDeviceAllowed: true), Partitions = [] };
        }

        // Null, empty and NUL-containing image paths are left for the builder to report with the partition's name.
        Partition[] absolute = [.. partitions.Select(p => p is null || string.IsNullOrEmpty(p.Image) || p.Image.Contains('\0', StringComparison.Ordinal)
            ? p!
            : p with { Image = Path.GetFullPath(p.Image) })];
        try
        {
            plan = CompositeDiskBuilder.Validate(absolute);
        }
        catch (ArgumentException e)
        {
            // The builder names "partitions[i].Field"; say where that list is in the VM's configuration.
            string inner = e.ParamName is { } name && name.StartsWith("partitions", StringComparison.Ordinal)
                ? "Partitions" + name["partitions".Length..]
                : "Partitions";
            string message = e.Message.Replace($" (Parameter '{e.ParamName}')", string.Empty, StringComparison.Ordinal);
            throw new VirtualMachineConfigException($"{field}.{inner}", message, e);
        }

        return disk with { Partitions = absolute };
    }

    /// <summary>
    /// Makes <paramref name="path"/> absolute and checks, without blocking (see <see cref="InputFile"/>), that it is a
    /// regular file (or, with <paramref name="blockDeviceAllowed"/>, a block device) that opens as the VM will use it.
    /// </summary>
    private static string? ReadableFile(string? path, string field, bool writable, bool blockDeviceAllowed = false)
    {
        if (path is null)
        {
            return null;
        }

        if (path.Length == 0)
        {
            throw new VirtualMachineConfigException(field, "is an empty path: give the path of a file, or leave it unset (null).");
        }

        if (path.Contains('\0', StringComparison.Ordinal))
        {
            throw new VirtualMachineConfigException(field, "contains a NUL character, which no Linux path can hold.");
        }

        string full = Path.GetFullPath(path);
        InputFileInfo info;
        try
        {
            info = InputFile.Probe(full, writable);
        }
        catch (Exception e) when (InputFile.IsProbeFailure(e))
        {
            throw new VirtualMachineConfigException(field, $"'{full}' {InputFile.Explain(e, writable)}.", e);
        }

        if (info.Kind == InputFileKind.RegularFile || (blockDeviceAllowed && info.Kind == InputFileKind.BlockDevice))
        {
            return full;
        }

        string rule = blockDeviceAllowed ? "a disk image must be a regular file or a block device" : $"{field} must be a regular file";
        throw new VirtualMachineConfigException(field, $"'{full}' is {InputFile.Describe(info.Kind)}; {rule}.");
    }
}
