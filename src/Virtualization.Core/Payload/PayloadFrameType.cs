namespace Virtualization.Core.Payload;

/// <summary>The frame types of protocol version 1. Any other value is an unknown type, which the host skips.</summary>
internal enum PayloadFrameType : byte
{
    /// <summary>First frame of every connection: magic <c>VCPL</c>, version, channel kind.</summary>
    Hello = 1,

    /// <summary>The payload was launched.</summary>
    Started = 2,

    /// <summary>The payload says it is ready to serve.</summary>
    Ready = 3,

    /// <summary>The payload exited; body: its exit code (i32 little-endian).</summary>
    Finished = 4,

    /// <summary>The payload could not run or failed; body: code (i32 little-endian) and a UTF-8 message.</summary>
    Error = 5,
}
