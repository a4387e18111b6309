namespace Virtualization.Core.Payload;

/// <summary>A bound, listening vsock port of one VM (tests substitute connections whose peer CID they choose).</summary>
internal interface IPayloadAcceptor : IDisposable
{
    /// <summary>How the log names the listener, e.g. <c>vsock port 12</c>.</summary>
    string Description { get; }

    /// <summary>Waits for the next connection.</summary>
    /// <exception cref="ObjectDisposedException">The acceptor was disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    Task<PayloadConnection> AcceptAsync(CancellationToken cancellationToken);
}
