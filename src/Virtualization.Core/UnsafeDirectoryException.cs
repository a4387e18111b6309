namespace Virtualization.Core;

/// <summary>
/// The folder the service keeps its private files in (<see cref="VirtualizationServiceOptions.TemporaryDirectory"/>:
/// VM folders, control sockets, disk descriptors, the CID cursor) is not safe to use: it is a symbolic link, is not a
/// directory, or is owned by another user, who could then swap or delete those files. The library never uses such a
/// folder; nothing was created. Remove it (as its owner or root) or choose another
/// <see cref="VirtualizationServiceOptions.TemporaryDirectory"/>.
/// </summary>
public sealed class UnsafeDirectoryException : IOException
{
    /// <summary>Creates the exception for <paramref name="path"/>.</summary>
    /// <param name="path">The refused folder.</param>
    /// <param name="ownerUid">The uid that owns what was found at <paramref name="path"/>.</param>
    /// <param name="problem">What is wrong with it, e.g. <c>it is a symbolic link</c>.</param>
    public UnsafeDirectoryException(string path, uint ownerUid, string problem)
        : this(path, ownerUid, problem, "Another user could swap or delete the VMs' files in it, so it is not used. "
            + "Remove it or choose another TemporaryDirectory.")
    {
    }

    /// <summary>Creates the exception with its own last sentences (what follows from the problem, and the fix).</summary>
    internal UnsafeDirectoryException(string path, uint ownerUid, string problem, string consequenceAndFix)
        : base($"The temporary directory '{path}' is unsafe: {problem} (owner uid {ownerUid}). {consequenceAndFix}")
    {
        Path = path;
        OwnerUid = ownerUid;
    }

    /// <summary>The refused folder (an absolute path).</summary>
    public string Path { get; }

    /// <summary>The uid that owns what was found at <see cref="Path"/> (for a symbolic link: the link's owner).</summary>
    public uint OwnerUid { get; }
}
