namespace Virtualization.Core;

/// <summary>A disk of a VM: either an existing <paramref name="Image"/> or a disk assembled from <paramref name="Partitions"/>.</summary>
/// <param name="Image">Path of an existing disk image, or <see langword="null"/> when <paramref name="Partitions"/> are given.</param>
/// <param name="Writable">Whether the guest may write to the disk.</param>
/// <param name="Partitions">Partitions to assemble into a GPT disk; empty when <paramref name="Image"/> is given.</param>
public sealed record DiskImage(string? Image, bool Writable, IReadOnlyList<Partition> Partitions)
{
    /// <summary>A disk backed by an existing image file.</summary>
    /// <param name="image">Path of the image.</param>
    /// <param name="writable">Whether the guest may write to it.</param>
    public DiskImage(string image, bool writable = false)
        : this(image, writable, [])
    {
    }
}
