namespace Virtualization.Core.Vmm;

/// <summary>A disk file handed to the VMM.</summary>
/// <param name="Path">Absolute path of the image (raw, qcow2, or a composite descriptor).</param>
/// <param name="Writable">Whether the guest may write to it.</param>
internal sealed record VmmDisk(string Path, bool Writable);
