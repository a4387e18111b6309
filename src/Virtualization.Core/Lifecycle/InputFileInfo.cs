namespace Virtualization.Core.Lifecycle;

/// <summary>What <see cref="InputFile.Probe"/> found.</summary>
/// <param name="Kind">The kind of file the path names (after following symbolic links).</param>
/// <param name="Size">Its size in bytes for a regular file or a block device; 0 for anything else.</param>
internal readonly record struct InputFileInfo(InputFileKind Kind, long Size);
