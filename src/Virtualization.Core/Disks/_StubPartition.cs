// TEMPORARY STUB - DELETE AT MERGE.
// The agreed public input type is written by another developer in the root namespace; this copy exists only so the
// wt-disks branch compiles on its own. Drop this file when merging and keep the other developer's definition.
namespace Virtualization.Core;

/// <summary>One partition of a composite disk: a GPT label, a raw image file and whether the guest may write to it.</summary>
/// <param name="Label">GPT partition name, 1 to 36 UTF-16 code units, unique within the disk.</param>
/// <param name="Image">Path of the raw partition image file.</param>
/// <param name="Writable">Whether the guest may write to the partition; a writable image's size must be a multiple of 4 KiB.</param>
public sealed record Partition(string Label, string Image, bool Writable);
