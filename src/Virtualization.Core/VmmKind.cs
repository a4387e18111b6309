namespace Virtualization.Core;

/// <summary>Which virtual machine monitor runs the VMs of a <see cref="VirtualizationService"/>.</summary>
public enum VmmKind
{
    /// <summary>crosvm (the default; what Android uses). Set <see cref="VirtualizationServiceOptions.CrosvmPath"/>.</summary>
    Crosvm = 0,

    /// <summary>QEMU (<c>qemu-system-x86_64</c>), available on stock Linux distributions. Set <see cref="VirtualizationServiceOptions.QemuPath"/>.</summary>
    Qemu = 1,
}
