namespace Virtualization.Core;

/// <summary>
/// The memory balloon of a running VM (<see cref="IVirtualMachine.GetMemoryBalloonStatsAsync"/>): its size, the
/// guest's configured memory, and the statistics the guest's virtio-balloon driver reports. Every guest statistic is
/// <see langword="null"/> until the guest has reported it (the driver must be loaded; QEMU asks the guest every
/// second, crosvm on each request).
/// </summary>
/// <param name="BalloonBytes">The balloon's current size: memory taken from the guest, in bytes. It follows the target
/// set with <see cref="IVirtualMachine.SetMemoryBalloonAsync"/> as fast as the guest gives (or takes back) pages.</param>
/// <param name="GuestMemoryBytes">The guest memory the VM was started with (<see cref="VirtualMachineRawConfig.MemoryMib"/>,
/// or the VMM's default of 256 MiB), in bytes. The guest can use about <c>GuestMemoryBytes - BalloonBytes</c>.</param>
/// <param name="TotalMemoryBytes">The guest's total usable memory (its <c>MemTotal</c>), in bytes.</param>
/// <param name="FreeMemoryBytes">The guest's unused memory (<c>MemFree</c>), in bytes.</param>
/// <param name="AvailableMemoryBytes">The guest's estimate of memory available for new work (<c>MemAvailable</c>), in bytes.</param>
/// <param name="DiskCachesBytes">The guest's file caches that can be dropped quickly, in bytes.</param>
/// <param name="MajorFaults">Major page faults in the guest since boot.</param>
/// <param name="MinorFaults">Minor page faults in the guest since boot.</param>
public sealed record MemoryBalloonStats(
    long BalloonBytes,
    long GuestMemoryBytes,
    long? TotalMemoryBytes,
    long? FreeMemoryBytes,
    long? AvailableMemoryBytes,
    long? DiskCachesBytes,
    long? MajorFaults,
    long? MinorFaults);
