namespace Virtualization.Core.Payload;

/// <summary>One frame as read from the wire; <see cref="Body"/> is valid until the next read.</summary>
/// <param name="Type">The type byte (may be unknown).</param>
/// <param name="Flags">The flags byte (0 in version 1).</param>
/// <param name="Body">The body bytes.</param>
internal readonly record struct PayloadFrame(byte Type, byte Flags, ReadOnlyMemory<byte> Body);
