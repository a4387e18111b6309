namespace Virtualization.Core.Payload;

/// <summary>What a decoded frame is.</summary>
internal enum PayloadFrameVerdict
{
    /// <summary>A well-formed version-1 hello.</summary>
    Hello,

    /// <summary>A well-formed lifecycle report.</summary>
    Report,

    /// <summary>A type this version does not know: skipped (the framing stays intact).</summary>
    Unknown,

    /// <summary>A known type with a bad body, bad flags or a bad magic: the channel is closed.</summary>
    Malformed,

    /// <summary>A hello of another protocol version: the channel is closed.</summary>
    WrongVersion,
}
