namespace Virtualization.Core.Payload;

/// <summary>Why a payload channel stopped reading.</summary>
internal enum PayloadChannelEnd
{
    /// <summary>The peer closed the connection between frames.</summary>
    EndOfStream,

    /// <summary>The peer closed the connection inside a frame.</summary>
    Truncated,

    /// <summary>A header announced a body over the maximum frame size: closed.</summary>
    Oversize,

    /// <summary>A frame was malformed: closed.</summary>
    Malformed,

    /// <summary>The hello named another protocol version: closed.</summary>
    WrongVersion,

    /// <summary>The first frame was not a hello: closed.</summary>
    BeforeHello,

    /// <summary>The hello named a channel kind this connection cannot carry: closed.</summary>
    WrongKind,

    /// <summary>Reading failed: closed.</summary>
    Failed,

    /// <summary>The host stopped the channel (the VM died or was disposed).</summary>
    Cancelled,
}
