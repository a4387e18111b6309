namespace Virtualization.Core.Lifecycle;

/// <summary>What a path given by the caller names, once symbolic links are followed.</summary>
internal enum InputFileKind
{
    /// <summary>A regular file.</summary>
    RegularFile,

    /// <summary>A block device (a disk, a partition, a loop device).</summary>
    BlockDevice,

    /// <summary>A directory.</summary>
    Directory,

    /// <summary>A FIFO (named pipe): opening it for reading blocks until a writer comes.</summary>
    Fifo,

    /// <summary>A unix domain socket.</summary>
    Socket,

    /// <summary>A character device (<c>/dev/null</c>, a terminal, ...).</summary>
    CharacterDevice,

    /// <summary>Anything else.</summary>
    Other,
}
