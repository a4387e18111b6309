namespace Virtualization.Core.Payload;

/// <summary>What a connection carries, as its hello says.</summary>
internal enum PayloadChannelKind : byte
{
    /// <summary>Lifecycle reports (started, ready, finished, error).</summary>
    Control = 0,

    /// <summary>After the hello, raw bytes: the payload's stdin (host → guest) and stdout (guest → host). vsock only.</summary>
    Stdio = 1,
}
