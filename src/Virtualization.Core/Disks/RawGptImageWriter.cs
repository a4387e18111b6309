using System.Buffers;
using Microsoft.Win32.SafeHandles;

namespace Virtualization.Core.Disks;

/// <summary>
/// Materialises a partition list as one raw GPT disk image, for QEMU, which cannot read crosvm composite descriptors.
/// The GPT regions are byte-for-byte those of <see cref="CompositeDiskBuilder"/> (same seed, same bytes); partition data is
/// copied in at the partition offsets. All-zero blocks are skipped, so the output stays sparse where the inputs are.
/// </summary>
internal static class RawGptImageWriter
{
    private const int CopyBufferSize = 1024 * 1024;

    /// <summary>Validates, then writes. See <see cref="WriteAsync(CompositeDiskPlan, string, string, int?, CancellationToken)"/>.</summary>
    public static Task<RawGptImageResult> WriteAsync(
        IReadOnlyList<Partition> partitions, string outputDirectory, string fileName, int? seed = null, CancellationToken cancellationToken = default)
    {
        CompositeDiskPlan plan = CompositeDiskBuilder.Validate(partitions);
        return WriteAsync(plan, outputDirectory, fileName, seed, cancellationToken);
    }

    /// <summary>
    /// Creates <paramref name="outputDirectory"/>/<paramref name="fileName"/> (it must not exist) holding the whole disk:
    /// GPT beginning, partition data (each padded to 4 KiB with zeros), backup GPT. On failure or cancellation the file is deleted.
    /// </summary>
    /// <param name="plan">The result of <see cref="CompositeDiskBuilder.Validate"/>; every partition must be read-only.</param>
    /// <param name="outputDirectory">Existing folder for the image.</param>
    /// <param name="fileName">Image file name, without directories.</param>
    /// <param name="seed">When set, the disk and partition GUIDs are derived from it.</param>
    /// <param name="cancellationToken">Stops the copy; the partial image is deleted.</param>
    /// <exception cref="NotSupportedException">A partition is writable: a copy cannot share the guest's writes with the image.</exception>
    public static async Task<RawGptImageResult> WriteAsync(
        CompositeDiskPlan plan, string outputDirectory, string fileName, int? seed = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        foreach (PlannedPartition p in plan.Partitions)
        {
            if (p.Writable)
            {
                throw new NotSupportedException(
                    $"Partition '{p.Label}' is writable, but QEMU cannot share a writable partition: it cannot read composite disks, " +
                    "so the partitions are copied into one raw image and the guest's writes would never reach the partition's image. " +
                    "Use crosvm or make the partition read-only.");
            }
        }

        string directory = CompositeDiskBuilder.ValidateOutput(outputDirectory, fileName, nameof(fileName));
        string imagePath = Path.Join(directory, fileName);
        cancellationToken.ThrowIfCancellationRequested();

        var created = new List<string>(1);
        byte[] tables = ArrayPool<byte>.Shared.Rent(Gpt.BeginningSize + Gpt.FooterSize);
        byte[] copyBuffer = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
        try
        {
            (Guid diskGuid, Guid[] partitionGuids) = CompositeDiskBuilder.RenderTables(plan, seed, tables);
            using (SafeFileHandle output = CompositeDiskBuilder.CreateNew(imagePath, created))
            {
                // Sized up front: padding and skipped zero blocks are holes that read as zero.
                RandomAccess.SetLength(output, plan.Length);
                RandomAccess.Write(output, tables.AsSpan(0, Gpt.BeginningSize), 0);
                foreach (PlannedPartition p in plan.Partitions)
                {
                    await CopyPartitionAsync(p, output, copyBuffer, cancellationToken).ConfigureAwait(false);
                }

                RandomAccess.Write(output, tables.AsSpan(Gpt.BeginningSize, Gpt.FooterSize), plan.FooterOffset);
            }

            return new RawGptImageResult(imagePath, plan.Length, diskGuid, partitionGuids, plan);
        }
        catch
        {
            CompositeDiskBuilder.DeleteAll(created);
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(copyBuffer);
            ArrayPool<byte>.Shared.Return(tables);
        }
    }

    private static async Task CopyPartitionAsync(PlannedPartition p, SafeFileHandle output, byte[] buffer, CancellationToken cancellationToken)
    {
        using SafeFileHandle input = File.OpenHandle(p.ImagePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        long copied = 0;
        // Copy exactly the size validated in the plan: bytes appended since are outside the partition; a file that shrank
        // leaves zeros (the image was pre-sized).
        while (copied < p.Size)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int want = (int)Math.Min(buffer.Length, p.Size - copied);
            int read = await RandomAccess.ReadAsync(input, buffer.AsMemory(0, want), copied, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            ReadOnlyMemory<byte> chunk = buffer.AsMemory(0, read);
            if (chunk.Span.IndexOfAnyExcept((byte)0) >= 0)
            {
                await RandomAccess.WriteAsync(output, chunk, p.Offset + copied, cancellationToken).ConfigureAwait(false);
            }

            copied += read;
        }
    }
}
