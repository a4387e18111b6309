namespace Virtualization.Core;

/// <summary>
/// Creates virtual machines and keeps track of them. Disposing the service stops every VM it created and returns
/// only when none of their VMM processes is left.
/// </summary>
public interface IVirtualizationService : IAsyncDisposable
{
    /// <summary>
    /// Validates <paramref name="config"/>, reserves a vsock CID and a private temporary folder, and returns the VM in
    /// <see cref="VirtualMachineState.NotStarted"/>. Does not start it.
    /// </summary>
    /// <param name="config">What to run.</param>
    /// <param name="consoleOutput">
    /// Receives the guest console (the VMM's serial output) while the VM runs; not closed by the library.
    /// <see langword="null"/> discards it.
    /// </param>
    /// <param name="cancellationToken">Cancels the creation; nothing is left reserved.</param>
    /// <returns>The new VM.</returns>
    /// <exception cref="VirtualMachineConfigException">The configuration is invalid; nothing was reserved.</exception>
    /// <exception cref="NotSupportedException">The configuration cannot run on the selected VMM (for example a writable partition under QEMU).</exception>
    /// <exception cref="CidExhaustedException">Every CID of the configured range is in use.</exception>
    /// <exception cref="UnsafeDirectoryException">
    /// <see cref="VirtualizationServiceOptions.TemporaryDirectory"/> is a symbolic link, not a directory, or owned by another user.
    /// </exception>
    /// <exception cref="ObjectDisposedException">The service was disposed.</exception>
    Task<IVirtualMachine> CreateVmAsync(
        VirtualMachineConfig config,
        Stream? consoleOutput = null,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// Every VM the service holds (not yet disposed), in any state. A dead VM stays listed until it is disposed, but it
    /// never blocks its CID: the CID is released at death and may already belong to a newer VM listed next to it.
    /// </summary>
    /// <returns>A snapshot, ordered by CID, then by creation.</returns>
    IReadOnlyList<VirtualMachineDebugInfo> DebugListVms();
}
