namespace Virtualization.Core;

/// <summary>One item of <see cref="HostCapabilities"/>: whether the host has it, what was found, and how to fix it when missing.</summary>
/// <param name="Name">A short name: <c>crosvm</c>, <c>QEMU</c>, <c>KVM</c>, <c>vhost-vsock</c>, <c>vsock</c>, <c>local CID</c>, <c>temporary directory</c>, <c>launcher</c>.</param>
/// <param name="IsAvailable">Whether the host has it.</param>
/// <param name="Detail">What was found (a path and version, a device state) or what is wrong.</param>
/// <param name="Fix">When it is missing: what to do about it; otherwise <see langword="null"/>.</param>
public sealed record HostCapability(string Name, bool IsAvailable, string Detail, string? Fix)
{
    /// <summary>Formats as <c>Name: Detail</c>.</summary>
    /// <returns>The name and the detail.</returns>
    public override string ToString() => $"{Name}: {Detail}";
}
