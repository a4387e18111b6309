namespace Virtualization.Core.Payload;

/// <summary>The outcome of reading one frame.</summary>
internal enum PayloadReadStatus
{
    /// <summary>A whole frame was read.</summary>
    Frame,

    /// <summary>The stream ended cleanly, between frames.</summary>
    EndOfStream,

    /// <summary>The stream ended inside a frame.</summary>
    Truncated,

    /// <summary>The header announced a body longer than <see cref="PayloadWire.MaxBodySize"/>; nothing more was read.</summary>
    Oversize,
}
