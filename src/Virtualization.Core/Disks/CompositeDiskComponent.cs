namespace Virtualization.Core;

/// <summary>One component file of a composite disk: the bytes of <see cref="Path"/> appear on the disk from <see cref="Offset"/>
/// up to the next component's offset (or the disk's end).</summary>
/// <param name="Path">Path of the component file. <see cref="CompositeDisk"/> reports it resolved to an absolute path.</param>
/// <param name="Offset">Guest-visible byte offset where the component starts.</param>
/// <param name="Writable">Whether the component is <c>READ_WRITE</c> (the guest may write to it when the disk itself is writable).</param>
public sealed record CompositeDiskComponent(string Path, long Offset, bool Writable)
{
    /// <summary>Byte offset inside the component file where its data starts (protobuf field 4, added to crosvm in 2026;
    /// older crosvm ignores it). Zero for every component this library writes.</summary>
    public long FileOffset { get; init; }
}
