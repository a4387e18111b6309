namespace Virtualization.Core.Payload;

/// <summary>An accepted vsock connection: its stream (owned) and who the kernel says is on the other end.</summary>
/// <param name="Stream">The connection; the receiver disposes it.</param>
/// <param name="PeerCid">The peer's CID, from <c>getpeername</c>.</param>
/// <param name="Peer">The peer's address, for the log.</param>
internal sealed record PayloadConnection(Stream Stream, uint PeerCid, string Peer);
