namespace Virtualization.Core.Disks;

/// <summary>A validated partition with its size (taken once, at validation) and its place on the disk.</summary>
/// <param name="Label">GPT partition name.</param>
/// <param name="ImagePath">Absolute path of the partition image.</param>
/// <param name="Writable">Whether the guest may write to it.</param>
/// <param name="Size">Image size in bytes.</param>
/// <param name="Offset">Byte offset of the partition on the disk (a multiple of 4 KiB).</param>
internal sealed record PlannedPartition(string Label, string ImagePath, bool Writable, long Size, long Offset)
{
    /// <summary>The size rounded up to 4 KiB: the GPT range of the partition.</summary>
    public long AlignedSize => (Size + (Gpt.PartitionAlignment - 1)) & ~(Gpt.PartitionAlignment - 1);

    /// <summary>Whether a zero filler component is needed after the image (a read-only image not 4 KiB aligned).</summary>
    public bool NeedsFiller => Size != AlignedSize;
}

/// <summary>
/// The outcome of <see cref="CompositeDiskBuilder.Validate"/>: every partition checked and sized, the layout computed.
/// Nothing has been written. Pass it to <see cref="CompositeDiskBuilder.Build(CompositeDiskPlan, string, string, int?)"/>
/// or <see cref="RawGptImageWriter"/> to write files.
/// </summary>
internal sealed class CompositeDiskPlan
{
    internal CompositeDiskPlan(PlannedPartition[] partitions, long footerOffset)
    {
        Partitions = partitions;
        FooterOffset = footerOffset;
        Length = footerOffset + Gpt.FooterSize;
    }

    /// <summary>The partitions in disk order.</summary>
    public IReadOnlyList<PlannedPartition> Partitions { get; }

    /// <summary>N: where the last partition ends and the footer (backup GPT region) begins.</summary>
    public long FooterOffset { get; }

    /// <summary>Total guest-visible disk size in bytes: <see cref="FooterOffset"/> + 0x5000.</summary>
    public long Length { get; }

    /// <summary>Whether any partition is writable.</summary>
    public bool HasWritablePartition
    {
        get
        {
            foreach (PlannedPartition p in Partitions)
            {
                if (p.Writable)
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>Whether any read-only partition needs the zero filler.</summary>
    public bool NeedsFiller
    {
        get
        {
            foreach (PlannedPartition p in Partitions)
            {
                if (p.NeedsFiller)
                {
                    return true;
                }
            }

            return false;
        }
    }
}
