using Virtualization.Core.Disks;

namespace Virtualization.Core;

/// <summary>
/// A crosvm composite disk descriptor, read back: its components and a flattened, read-only view of the disk.
/// Useful to inspect what a VM sees (for example with <c>sgdisk</c> or <c>sfdisk</c> on a flattened copy).
/// </summary>
/// <remarks>
/// Path resolution follows crosvm: a relative component path is resolved against the descriptor's folder; absolute paths
/// are used as they are. Components are read as raw files (nested composite, qcow2 or sparse components are not expanded).
/// </remarks>
public sealed class CompositeDisk
{
    private CompositeDisk(string path, int version, long length, CompositeDiskComponent[] components)
    {
        Path = path;
        Version = version;
        Length = length;
        Components = Array.AsReadOnly(components);
    }

    /// <summary>Absolute path of the descriptor file.</summary>
    public string Path { get; }

    /// <summary>The descriptor's format version: 0 (omitted), 1 or 2.</summary>
    public int Version { get; }

    /// <summary>Guest-visible size of the disk in bytes.</summary>
    public long Length { get; }

    /// <summary>The components sorted by offset, with paths resolved to absolute paths.
    /// Each one spans from its <see cref="CompositeDiskComponent.Offset"/> to the next one's offset (the last one to <see cref="Length"/>).</summary>
    public IReadOnlyList<CompositeDiskComponent> Components { get; }

    /// <summary>
    /// Writes a composite disk (what a VM config's <c>disks[].partitions</c> become): the descriptor at
    /// <paramref name="path"/> and, next to it, <c>{stem}-header.img</c> and <c>{stem}-footer.img</c> (the GPT), plus
    /// <c>{stem}-filler.img</c> when a read-only image is not 4 KiB aligned, where <c>{stem}</c> is the descriptor's
    /// file name without its extension. The descriptor names every component by absolute path. Nothing is overwritten.
    /// </summary>
    /// <param name="partitions">The partitions, in order (labels unique, images readable, at most 128).</param>
    /// <param name="path">Where the descriptor goes; its folder must exist.</param>
    /// <returns>The disk, read back from the descriptor.</returns>
    /// <exception cref="ArgumentException">A partition is invalid (the message names it), or <paramref name="path"/> has no file name.</exception>
    /// <exception cref="IOException">One of the files exists already or cannot be written; nothing is left behind.</exception>
    public static CompositeDisk Create(IReadOnlyList<Partition> partitions, string path)
    {
        ArgumentNullException.ThrowIfNull(partitions);
        ArgumentException.ThrowIfNullOrEmpty(path);
        string fullPath = System.IO.Path.GetFullPath(path);
        string stem = System.IO.Path.GetFileNameWithoutExtension(fullPath);
        if (stem.Length == 0)
        {
            throw new ArgumentException($"'{path}' has no file name to derive the header and footer names from.", nameof(path));
        }

        if (File.Exists(fullPath) || Directory.Exists(fullPath))
        {
            throw new IOException($"'{fullPath}' already exists; a composite disk is never written over a file.");
        }

        CompositeDiskBuildResult result = CompositeDiskBuilder.Build(partitions, System.IO.Path.GetDirectoryName(fullPath)!, stem);
        if (!string.Equals(result.DescriptorPath, fullPath, StringComparison.Ordinal))
        {
            try
            {
                File.Move(result.DescriptorPath, fullPath, overwrite: false);
            }
            catch
            {
                CompositeDiskBuilder.DeleteAll([.. result.CreatedFiles]);
                throw;
            }
        }

        return Open(fullPath);
    }

    /// <summary>Whether <paramref name="path"/> starts like a composite disk descriptor (<c>composite_disk\x1d</c>).</summary>
    /// <param name="path">A disk image.</param>
    /// <returns><see langword="true"/> for a descriptor (possibly damaged: <see cref="Open"/> checks the rest).</returns>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static bool IsDescriptor(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);
        Span<byte> head = stackalloc byte[CompositeDiskDescriptor.Magic.Length];
        return file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false) == head.Length
            && head.SequenceEqual(CompositeDiskDescriptor.Magic);
    }

    /// <summary>Reads and checks a composite disk descriptor.</summary>
    /// <param name="path">Path of the descriptor (the file starting with <c>composite_disk\x1d</c>).</param>
    /// <returns>The parsed descriptor.</returns>
    /// <exception cref="FileNotFoundException">The descriptor does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a composite descriptor, has an unknown version (above 2), no
    /// components, two components at one offset, or a length not beyond the last component's offset.</exception>
    public static CompositeDisk Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string fullPath = System.IO.Path.GetFullPath(path);
        byte[] bytes;
        int count;
        using (var file = new FileStream(fullPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1))
        {
            if (file.Length > CompositeDiskDescriptor.MaxDescriptorSize)
            {
                throw new InvalidDataException(
                    $"'{fullPath}' is {file.Length} bytes, too large for a composite disk descriptor (at most {CompositeDiskDescriptor.MaxDescriptorSize}).");
            }

            bytes = new byte[file.Length];
            count = file.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
        }

        CompositeDiskDescriptor.Decoded decoded = CompositeDiskDescriptor.Decode(bytes, count);
        if (decoded.Version > CompositeDiskDescriptor.MaxVersion)
        {
            throw new InvalidDataException($"'{fullPath}': unknown composite disk version {decoded.Version} (at most {CompositeDiskDescriptor.MaxVersion} is supported).");
        }

        if (decoded.Components.Count == 0)
        {
            throw new InvalidDataException($"'{fullPath}': the composite disk has no components.");
        }

        if (decoded.Length > long.MaxValue)
        {
            throw new InvalidDataException($"'{fullPath}': the disk length {decoded.Length} is beyond 2^63.");
        }

        string directory = System.IO.Path.GetDirectoryName(fullPath)!;
        var components = new CompositeDiskComponent[decoded.Components.Count];
        for (int i = 0; i < components.Length; i++)
        {
            CompositeDiskComponent c = decoded.Components[i];
            if (c.Path.Length == 0)
            {
                throw new InvalidDataException($"'{fullPath}': the component at offset {c.Offset} has an empty path.");
            }

            components[i] = c with { Path = System.IO.Path.GetFullPath(c.Path, directory) };
        }

        // Stable sort by offset, as crosvm does.
        CompositeDiskComponent[] sorted = [.. components.OrderBy(c => c.Offset)];
        for (int i = 1; i < sorted.Length; i++)
        {
            if (sorted[i].Offset == sorted[i - 1].Offset)
            {
                throw new InvalidDataException($"'{fullPath}': two components at offset {sorted[i].Offset}.");
            }
        }

        long length = (long)decoded.Length;
        if (length <= sorted[^1].Offset)
        {
            throw new InvalidDataException(
                $"'{fullPath}': the disk length {length} is not beyond the last component's offset {sorted[^1].Offset}.");
        }

        return new CompositeDisk(fullPath, (int)decoded.Version, length, sorted);
    }

    /// <summary>
    /// Opens a seekable, read-only stream over the flattened disk (<see cref="Length"/> bytes). Reads cross component
    /// boundaries; bytes before the first component, past the end of a short component file, or in a component whose file
    /// is missing read as zero. Component files are opened lazily and closed with the stream. The stream is not thread-safe.
    /// </summary>
    /// <returns>A new stream positioned at 0.</returns>
    public Stream OpenRead() => new CompositeDiskStream(Components, Length);
}
