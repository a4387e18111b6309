namespace Virtualization.Core.Vsock;

/// <summary>Connects over real <c>AF_VSOCK</c>, with <c>SO_VM_SOCKETS_CONNECT_TIMEOUT</c> set to the timeout.</summary>
internal sealed class VsockConnector : IVsockConnector
{
    /// <summary>The shared instance (the connector has no state).</summary>
    public static VsockConnector Instance { get; } = new();

    /// <inheritdoc/>
    public async Task<Stream> ConnectAsync(uint cid, uint port, TimeSpan timeout, CancellationToken cancellationToken) =>
        await NativeSockets.ConnectAsync(NativeAddress.ForVsock(new VsockEndPoint(cid, port)), timeout, cancellationToken).ConfigureAwait(false);
}
