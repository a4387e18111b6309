namespace Virtualization.Core;

/// <summary>How a guest's payload agent reaches the host (docs/payload-protocol.md).</summary>
public enum PayloadTransport
{
    /// <summary>
    /// A dedicated virtio-console port wired to a Unix socket in the VM's private folder (QEMU: a named
    /// <c>virtserialport</c> <c>vcore.payload</c>; crosvm: a <c>virtio-console</c> serial of type <c>unix-stream</c>). Works
    /// on every host, with or without vsock. The VM is identified by the socket the bytes arrive on.
    /// </summary>
    Serial = 0,

    /// <summary>
    /// vsock: the host listens on port = the VM's CID and accepts only connections whose peer CID is that VM's (Android's
    /// design). Needs <c>/dev/vhost-vsock</c> on the host.
    /// </summary>
    Vsock = 1,
}
