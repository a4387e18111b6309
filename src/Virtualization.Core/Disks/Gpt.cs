using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace Virtualization.Core.Disks;

/// <summary>
/// GPT constants and the byte-level writers for the two table regions of a composite (or materialised raw) disk.
/// Layout (crosvm since 2024-11, with the backup header's entries LBA fixed to follow the UEFI specification):
/// <code>
/// [0x0000, 0x5000)       beginning: protective MBR, primary header, 128 entries, 0xC00 zero bytes
/// [0x5000, N)            partitions, each rounded up to 4 KiB
/// [N, N + 0xE00)         zero
/// [N + 0xE00, N + 0x4E00) backup entries
/// [N + 0x4E00, N + 0x5000) backup header (last LBA)
/// </code>
/// </summary>
internal static class Gpt
{
    public const int SectorSize = 512;
    public const int EntryCount = 128;
    public const int EntrySize = 128;
    public const int EntryArraySize = EntryCount * EntrySize;
    public const int HeaderSize = 92;

    /// <summary>LBA 0-39: MBR, header, entries, padding.</summary>
    public const int BeginningSize = 0x5000;

    /// <summary>Zero padding, backup entries and backup header.</summary>
    public const int FooterSize = 0x5000;

    /// <summary>Zero bytes at the start of the footer, before the backup entries.</summary>
    public const int FooterPadding = 0xE00;

    public const long PartitionAlignment = 4096;
    public const int MaxLabelLength = 36;
    public const long FirstUsableLba = BeginningSize / SectorSize;
    public const long PrimaryEntriesLba = 2;

    /// <summary>Linux filesystem data, <c>0FC63DAF-8483-4772-8E79-3D69D8477DE4</c>.</summary>
    public static readonly Guid LinuxFilesystemType = new(0x0FC63DAF, 0x8483, 0x4772, 0x8E, 0x79, 0x3D, 0x69, 0xD8, 0x47, 0x7D, 0xE4);

    private static ReadOnlySpan<byte> Signature => "EFI PART"u8;

    /// <summary>
    /// Fills <paramref name="beginning"/> (0x5000 bytes) and <paramref name="footer"/> (0x5000 bytes) for <paramref name="plan"/>.
    /// Both spans must be zeroed by the caller.
    /// </summary>
    public static void WriteTables(CompositeDiskPlan plan, Guid diskGuid, ReadOnlySpan<Guid> partitionGuids, Span<byte> beginning, Span<byte> footer)
    {
        if (beginning.Length != BeginningSize || footer.Length != FooterSize)
        {
            throw new ArgumentException("GPT regions must be exactly 0x5000 bytes each.");
        }

        if (partitionGuids.Length != plan.Partitions.Count)
        {
            throw new ArgumentException("One unique GUID per partition is required.", nameof(partitionGuids));
        }

        long totalLbas = plan.Length / SectorSize;
        long lastLba = totalLbas - 1;
        long backupEntriesLba = (plan.FooterOffset + FooterPadding) / SectorSize;
        long lastUsableLba = backupEntriesLba - 1;

        WriteProtectiveMbr(beginning[..SectorSize], totalLbas);

        Span<byte> entries = beginning.Slice((int)(PrimaryEntriesLba * SectorSize), EntryArraySize);
        for (int i = 0; i < plan.Partitions.Count; i++)
        {
            PlannedPartition p = plan.Partitions[i];
            WriteEntry(entries.Slice(i * EntrySize, EntrySize), LinuxFilesystemType, partitionGuids[i],
                p.Offset / SectorSize, ((p.Offset + p.AlignedSize) / SectorSize) - 1, p.Label);
        }

        uint entriesCrc = Crc32.HashToUInt32(entries);
        entries.CopyTo(footer.Slice(FooterPadding, EntryArraySize));

        WriteHeader(beginning.Slice(SectorSize, HeaderSize), currentLba: 1, backupLba: lastLba,
            lastUsableLba, diskGuid, PrimaryEntriesLba, entriesCrc);
        WriteHeader(footer.Slice(FooterPadding + EntryArraySize, HeaderSize), currentLba: lastLba, backupLba: 1,
            lastUsableLba, diskGuid, backupEntriesLba, entriesCrc);
    }

    /// <summary>Writes the protective MBR; the sector count follows the UEFI specification: size in LBAs minus 1, capped at 0xFFFFFFFF.</summary>
    public static void WriteProtectiveMbr(Span<byte> mbr, long totalLbas)
    {
        Span<byte> entry = mbr.Slice(446, 16);
        entry[0] = 0x00; // status
        // CHS start (bytes 1-3) left zero, as crosvm and AOSP do.
        entry[4] = 0xEE; // GPT protective
        // CHS end (bytes 5-7) left zero.
        BinaryPrimitives.WriteUInt32LittleEndian(entry[8..], 1);
        BinaryPrimitives.WriteUInt32LittleEndian(entry[12..], (uint)Math.Min(totalLbas - 1, uint.MaxValue));
        mbr[510] = 0x55;
        mbr[511] = 0xAA;
    }

    public static void WriteHeader(Span<byte> h, long currentLba, long backupLba, long lastUsableLba, Guid diskGuid, long entriesLba, uint entriesCrc)
    {
        Signature.CopyTo(h);
        BinaryPrimitives.WriteUInt32LittleEndian(h[8..], 0x00010000); // revision 1.0
        BinaryPrimitives.WriteUInt32LittleEndian(h[12..], HeaderSize);
        BinaryPrimitives.WriteUInt32LittleEndian(h[16..], 0); // CRC, filled below
        BinaryPrimitives.WriteUInt32LittleEndian(h[20..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(h[24..], (ulong)currentLba);
        BinaryPrimitives.WriteUInt64LittleEndian(h[32..], (ulong)backupLba);
        BinaryPrimitives.WriteUInt64LittleEndian(h[40..], (ulong)FirstUsableLba);
        BinaryPrimitives.WriteUInt64LittleEndian(h[48..], (ulong)lastUsableLba);
        diskGuid.TryWriteBytes(h.Slice(56, 16));
        BinaryPrimitives.WriteUInt64LittleEndian(h[72..], (ulong)entriesLba);
        BinaryPrimitives.WriteUInt32LittleEndian(h[80..], EntryCount);
        BinaryPrimitives.WriteUInt32LittleEndian(h[84..], EntrySize);
        BinaryPrimitives.WriteUInt32LittleEndian(h[88..], entriesCrc);
        BinaryPrimitives.WriteUInt32LittleEndian(h[16..], Crc32.HashToUInt32(h[..HeaderSize]));
    }

    public static void WriteEntry(Span<byte> e, Guid type, Guid unique, long firstLba, long lastLba, string name)
    {
        type.TryWriteBytes(e[..16]);
        unique.TryWriteBytes(e.Slice(16, 16));
        BinaryPrimitives.WriteUInt64LittleEndian(e[32..], (ulong)firstLba);
        BinaryPrimitives.WriteUInt64LittleEndian(e[40..], (ulong)lastLba);
        BinaryPrimitives.WriteUInt64LittleEndian(e[48..], 0);
        // The label was validated to be at most 36 code units, so it always fits in the 72-byte name field.
        Encoding.Unicode.GetBytes(name, e.Slice(56, MaxLabelLength * 2));
    }
}
