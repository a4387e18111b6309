namespace Virtualization.Core.Vmm;

/// <summary>What <see cref="VmmKind.Auto"/> means on this host; shared by the service and <see cref="HostCapabilities"/>.</summary>
internal static class VmmSelection
{
    /// <summary>
    /// Auto's rule: crosvm when it is found and KVM is usable (crosvm has no software emulator), else QEMU when it is
    /// found, else crosvm when it is found (its start then explains what KVM lacks); null when neither is found.
    /// </summary>
    internal static VmmKind? Pick(bool crosvmFound, bool qemuFound, bool kvmUsable) =>
        crosvmFound && kvmUsable ? VmmKind.Crosvm
        : qemuFound ? VmmKind.Qemu
        : crosvmFound ? VmmKind.Crosvm
        : null;

    /// <summary>The advice given when <see cref="VmmKind.Auto"/> finds neither VMM.</summary>
    internal const string InstallHint =
        "Neither crosvm nor QEMU was found (VmmKind.Auto): install QEMU (Debian/Ubuntu: sudo apt-get install qemu-system-x86; "
        + "Fedora: sudo dnf install qemu-system-x86-core), or build crosvm (no distribution packages it: https://crosvm.dev/book/building_crosvm/) "
        + "and put it on PATH or set VirtualizationServiceOptions.CrosvmPath.";

    /// <summary>
    /// Resolves <paramref name="requested"/>: anything but <see cref="VmmKind.Auto"/> as is; Auto as <see cref="Pick"/>
    /// says, or when neither VMM is found QEMU (whose launch then fails with <see cref="InstallHint"/>: <paramref name="found"/> is false).
    /// </summary>
    internal static VmmKind Resolve(VmmKind requested, string crosvmPath, string qemuPath, bool kvmUsable, out bool found)
    {
        found = true;
        if (requested != VmmKind.Auto)
        {
            return requested;
        }

        VmmKind? picked = Pick(ExecutableResolver.TryResolve(crosvmPath, out _), ExecutableResolver.TryResolve(qemuPath, out _), kvmUsable);
        found = picked is not null;
        return picked ?? VmmKind.Qemu;
    }
}
