namespace Virtualization.Core;

/// <summary>Which virtual machine monitor runs the VMs of a <see cref="VirtualizationService"/>.</summary>
public enum VmmKind
{
    /// <summary>
    /// The default: crosvm when <see cref="VirtualizationServiceOptions.CrosvmPath"/> is found and <c>/dev/kvm</c> is
    /// usable, else QEMU (which uses TCG when KVM is not usable, see <see cref="VmAcceleration.Auto"/>). Resolved once,
    /// when the <see cref="VirtualizationService"/> is built (<see cref="VirtualizationService.Vmm"/> says which); when
    /// neither is installed, <see cref="IVirtualMachine.StartAsync"/> fails with a message naming the package to install.
    /// </summary>
    Auto = 0,

    /// <summary>crosvm (what Android uses; needs KVM). Set <see cref="VirtualizationServiceOptions.CrosvmPath"/>.</summary>
    Crosvm = 1,

    /// <summary>QEMU (<c>qemu-system-x86_64</c>), available on stock Linux distributions. Set <see cref="VirtualizationServiceOptions.QemuPath"/>.</summary>
    Qemu = 2,
}
