using System.Buffers;
using Microsoft.Win32.SafeHandles;
using Virtualization.Core.Lifecycle;

namespace Virtualization.Core.Disks;

/// <summary>
/// Builds crosvm composite disks from partition images: a GPT header file, a footer file, at most one shared zero filler
/// file and the composite descriptor (version 1, absolute paths: readable by every crosvm since 2021). Partition data is
/// referenced, never copied.
/// </summary>
/// <remarks>
/// Typical use from VM creation: call <see cref="Validate"/> before reserving anything (it opens and sizes each image
/// once), then <see cref="Build(CompositeDiskPlan, string, string, int?)"/> with the plan once the VM's folder exists.
/// </remarks>
internal static class CompositeDiskBuilder
{
    /// <summary>GPT holds at most 128 entries.</summary>
    public const int MaxPartitions = Gpt.EntryCount;

    /// <summary>Size of the shared zero filler file.</summary>
    public const int FillerSize = 4096;

    /// <summary>
    /// Checks every partition (label, image readable and sized, alignment of writable images, overflow) and computes the
    /// layout, without writing anything.
    /// </summary>
    /// <exception cref="ArgumentException">A partition is invalid; the message names the partition and the problem, and
    /// <see cref="ArgumentException.ParamName"/> names the field (for example <c>partitions[1].Image</c>).</exception>
    public static CompositeDiskPlan Validate(IReadOnlyList<Partition> partitions)
    {
        ValidateLabels(partitions);
        Span<long> sizes = partitions.Count <= 16 ? stackalloc long[partitions.Count] : new long[partitions.Count];
        string[] paths = new string[partitions.Count];
        for (int i = 0; i < partitions.Count; i++)
        {
            (paths[i], sizes[i]) = ProbeImage(partitions[i], i);
        }

        return Plan(partitions, sizes, paths);
    }

    /// <summary>Label checks only (no I/O): count, null entries, empty, too long, NUL characters, duplicates.</summary>
    internal static void ValidateLabels(IReadOnlyList<Partition> partitions)
    {
        ArgumentNullException.ThrowIfNull(partitions);
        if (partitions.Count == 0)
        {
            throw new ArgumentException("A composite disk needs at least one partition; the partition list is empty.", nameof(partitions));
        }

        if (partitions.Count > MaxPartitions)
        {
            throw new ArgumentException(
                $"A GPT disk holds at most {MaxPartitions} partitions; {partitions.Count} were given.", nameof(partitions));
        }

        for (int i = 0; i < partitions.Count; i++)
        {
            Partition? p = partitions[i];
            if (p is null)
            {
                throw new ArgumentException($"Partition #{i} is null.", $"partitions[{i}]");
            }

            string label = p.Label;
            if (string.IsNullOrEmpty(label))
            {
                throw new ArgumentException($"Partition #{i} (image '{p.Image}') has an empty label.", $"partitions[{i}].Label");
            }

            if (label.Length > Gpt.MaxLabelLength)
            {
                throw new ArgumentException(
                    $"Partition '{label}': the label is {label.Length} UTF-16 code units long; GPT names hold at most {Gpt.MaxLabelLength}.",
                    $"partitions[{i}].Label");
            }

            if (label.Contains('\0', StringComparison.Ordinal))
            {
                throw new ArgumentException($"Partition '{label.Replace("\0", "\\0", StringComparison.Ordinal)}': the label contains a NUL character.", $"partitions[{i}].Label");
            }

            for (int j = 0; j < i; j++)
            {
                if (string.Equals(partitions[j].Label, label, StringComparison.Ordinal))
                {
                    throw new ArgumentException(
                        $"Partition '{label}': the label is used by partitions #{j} and #{i}; labels must be unique.", $"partitions[{i}].Label");
                }
            }
        }
    }

    /// <summary>
    /// Looks at the image without blocking (see <see cref="InputFile"/>): it must be a regular file or a block device,
    /// and open read-only (read-write for a writable partition). Returns its absolute path and size.
    /// </summary>
    private static (string Path, long Size) ProbeImage(Partition p, int index)
    {
        string field = $"partitions[{index}].Image";
        if (string.IsNullOrEmpty(p.Image))
        {
            throw new ArgumentException($"Partition '{p.Label}': the image path is empty.", field);
        }

        if (p.Image.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"Partition '{p.Label}': the image path contains a NUL character, which no Linux path can hold.", field);
        }

        string path = Path.GetFullPath(p.Image);
        InputFileInfo info;
        try
        {
            info = InputFile.Probe(path, p.Writable);
        }
        catch (Exception ex) when (InputFile.IsProbeFailure(ex))
        {
            throw new ArgumentException($"Partition '{p.Label}': the image '{p.Image}' {InputFile.Explain(ex, p.Writable)}.", field, ex);
        }

        if (info.Kind is not (InputFileKind.RegularFile or InputFileKind.BlockDevice))
        {
            throw new ArgumentException(
                $"Partition '{p.Label}': the image '{p.Image}' is {InputFile.Describe(info.Kind)}; a partition image must be a regular file or a block device.",
                field);
        }

        long size = info.Size;
        if (size == 0)
        {
            throw new ArgumentException($"Partition '{p.Label}': the image '{p.Image}' is empty (0 bytes).", field);
        }

        return (path, size);
    }

    /// <summary>
    /// Computes the layout from known sizes (no I/O): the alignment rule for writable images and overflow checks.
    /// <see cref="Validate"/> calls it after probing the files; tests call it directly with made-up sizes.
    /// </summary>
    internal static CompositeDiskPlan Plan(IReadOnlyList<Partition> partitions, ReadOnlySpan<long> sizes, IReadOnlyList<string> absolutePaths)
    {
        var planned = new PlannedPartition[partitions.Count];
        long offset = Gpt.BeginningSize;
        for (int i = 0; i < partitions.Count; i++)
        {
            Partition p = partitions[i];
            long size = sizes[i];
            if (size <= 0)
            {
                throw new ArgumentException($"Partition '{p.Label}': the image size {size} is not positive.", $"partitions[{i}].Image");
            }

            if (p.Writable && size % Gpt.PartitionAlignment != 0)
            {
                throw new ArgumentException(
                    $"Partition '{p.Label}': the writable image '{p.Image}' is {size} bytes, not a multiple of {Gpt.PartitionAlignment}; " +
                    "a writable partition cannot be padded with a filler. Resize the image or make the partition read-only.",
                    $"partitions[{i}].Image");
            }

            // The disk must fit in a long together with the footer: offset + aligned + footer <= long.MaxValue.
            const long Limit = long.MaxValue - Gpt.FooterSize - (Gpt.PartitionAlignment - 1);
            if (size > Limit - offset)
            {
                throw new ArgumentOutOfRangeException(
                    $"partitions[{i}].Image", size,
                    $"Partition '{p.Label}': the image size {size} overflows the disk size (partitions before it end at {offset}; the total must stay below 2^63 bytes).");
            }

            planned[i] = new PlannedPartition(p.Label, absolutePaths[i], p.Writable, size, offset);
            offset += planned[i].AlignedSize;
        }

        return new CompositeDiskPlan(planned, offset);
    }

    /// <summary>Validates the partitions, then builds the composite disk. See <see cref="Build(CompositeDiskPlan, string, string, int?)"/>.</summary>
    public static CompositeDiskBuildResult Build(IReadOnlyList<Partition> partitions, string outputDirectory, string baseName, int? seed = null)
    {
        CompositeDiskPlan plan = Validate(partitions);
        return Build(plan, outputDirectory, baseName, seed);
    }

    /// <summary>
    /// Writes <c>{baseName}-header.img</c> (0x5000 bytes), <c>{baseName}-filler.img</c> (4096 zero bytes, only if a
    /// read-only image is not 4 KiB aligned; shared by all such partitions), <c>{baseName}-footer.img</c> (0x5000 bytes)
    /// and the descriptor <c>{baseName}.img</c>, in that order, into <paramref name="outputDirectory"/>. None of them may
    /// exist yet. If anything fails, the files created so far are deleted.
    /// </summary>
    /// <param name="plan">The result of <see cref="Validate"/>.</param>
    /// <param name="outputDirectory">Existing folder for the files.</param>
    /// <param name="baseName">File-name stem, without directories.</param>
    /// <param name="seed">When set, the disk and partition GUIDs are derived from it, so the header and footer bytes are reproducible.</param>
    /// <exception cref="ArgumentException">Bad folder or base name.</exception>
    /// <exception cref="IOException">A file already exists or cannot be written (nothing is left behind).</exception>
    public static CompositeDiskBuildResult Build(CompositeDiskPlan plan, string outputDirectory, string baseName, int? seed = null)
    {
        ArgumentNullException.ThrowIfNull(plan);
        string directory = ValidateOutput(outputDirectory, baseName, nameof(baseName));

        string headerPath = Path.Join(directory, baseName + "-header.img");
        string fillerPath = Path.Join(directory, baseName + "-filler.img");
        string footerPath = Path.Join(directory, baseName + "-footer.img");
        string descriptorPath = Path.Join(directory, baseName + ".img");

        IReadOnlyList<PlannedPartition> parts = plan.Partitions;
        bool needsFiller = plan.NeedsFiller;
        var components = new CompositeDiskComponent[2 + parts.Count + (needsFiller ? CountFillers(parts) : 0)];
        int c = 0;
        components[c++] = new CompositeDiskComponent(headerPath, 0, false);
        foreach (PlannedPartition p in parts)
        {
            components[c++] = new CompositeDiskComponent(p.ImagePath, p.Offset, p.Writable);
            if (p.NeedsFiller)
            {
                components[c++] = new CompositeDiskComponent(fillerPath, p.Offset + p.Size, false);
            }
        }

        components[c] = new CompositeDiskComponent(footerPath, plan.FooterOffset, false);
        byte[] message = CompositeDiskDescriptor.EncodeMessage(CompositeDiskDescriptor.Version1, components, plan.Length);

        byte[] tables = ArrayPool<byte>.Shared.Rent(Gpt.BeginningSize + Gpt.FooterSize);
        var created = new List<string>(4);
        try
        {
            (Guid diskGuid, Guid[] partitionGuids) = RenderTables(plan, seed, tables);

            WriteNewFile(headerPath, tables.AsSpan(0, Gpt.BeginningSize), created);
            if (needsFiller)
            {
                using SafeFileHandle filler = CreateNew(fillerPath, created);
                RandomAccess.SetLength(filler, FillerSize);
            }

            WriteNewFile(footerPath, tables.AsSpan(Gpt.BeginningSize, Gpt.FooterSize), created);

            // The descriptor goes last: once it exists, everything it points to is complete.
            using (SafeFileHandle d = CreateNew(descriptorPath, created))
            {
                RandomAccess.Write(d, [CompositeDiskDescriptor.MagicBytes, message], 0);
            }

            return new CompositeDiskBuildResult(descriptorPath, plan.Length, components, created, diskGuid, partitionGuids, plan);
        }
        catch
        {
            DeleteAll(created);
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(tables);
        }
    }

    /// <summary>Renders both GPT regions into <paramref name="buffer"/>: [0, 0x5000) beginning, [0x5000, 0xA000) footer.</summary>
    internal static (Guid DiskGuid, Guid[] PartitionGuids) RenderTables(CompositeDiskPlan plan, int? seed, byte[] buffer)
    {
        var guids = new GuidSource(seed);
        Guid diskGuid = guids.Next();
        var partitionGuids = new Guid[plan.Partitions.Count];
        for (int i = 0; i < partitionGuids.Length; i++)
        {
            partitionGuids[i] = guids.Next();
        }

        Span<byte> span = buffer.AsSpan(0, Gpt.BeginningSize + Gpt.FooterSize);
        span.Clear();
        Gpt.WriteTables(plan, diskGuid, partitionGuids, span[..Gpt.BeginningSize], span[Gpt.BeginningSize..]);
        return (diskGuid, partitionGuids);
    }

    /// <summary>Checks that the folder exists and the name is a plain file name; returns the absolute folder path.</summary>
    internal static string ValidateOutput(string outputDirectory, string name, string nameParameter)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputDirectory);
        ArgumentException.ThrowIfNullOrEmpty(name, nameParameter);
        if (name.AsSpan().IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || name is "." or "..")
        {
            throw new ArgumentException($"'{name}' is not a plain file name.", nameParameter);
        }

        string directory = Path.GetFullPath(outputDirectory);
        if (!Directory.Exists(directory))
        {
            throw new ArgumentException($"The output folder '{outputDirectory}' does not exist.", nameof(outputDirectory));
        }

        return directory;
    }

    private static int CountFillers(IReadOnlyList<PlannedPartition> parts)
    {
        int n = 0;
        foreach (PlannedPartition p in parts)
        {
            if (p.NeedsFiller)
            {
                n++;
            }
        }

        return n;
    }

    internal static SafeFileHandle CreateNew(string path, List<string> created)
    {
        SafeFileHandle handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
        created.Add(path);
        return handle;
    }

    private static void WriteNewFile(string path, ReadOnlySpan<byte> content, List<string> created)
    {
        using SafeFileHandle handle = CreateNew(path, created);
        RandomAccess.Write(handle, content, 0);
    }

    internal static void DeleteAll(List<string> created)
    {
        for (int i = created.Count - 1; i >= 0; i--)
        {
            try
            {
                File.Delete(created[i]);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Best effort: the original failure is what the caller needs to see.
            }
        }
    }
}
