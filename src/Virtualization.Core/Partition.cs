namespace Virtualization.Core;

/// <summary>A partition of a composite disk.</summary>
/// <param name="Label">The GPT partition name: at most 36 UTF-16 code units, unique within the disk.</param>
/// <param name="Image">Path of the file that backs the partition.</param>
/// <param name="Writable">Whether the guest may write to the partition (its size must then be a multiple of 4 KiB).</param>
public sealed record Partition(string Label, string Image, bool Writable);
