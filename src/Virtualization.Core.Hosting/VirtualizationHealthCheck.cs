using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Virtualization.Core;

/// <summary>
/// A health check for the registered <see cref="VirtualizationService"/>: probes the host (<see cref="HostCapabilities"/>)
/// for the VMM the service runs. Unhealthy when that VMM, the launcher or the temporary directory is missing (or crosvm
/// has no usable KVM); degraded when QEMU has to emulate (no usable KVM) or guests get no vsock; healthy otherwise. The
/// data holds every probed item (name: detail).
/// </summary>
/// <remarks>
/// Register it with <c>services.AddHealthChecks().AddCheck&lt;VirtualizationHealthCheck&gt;("virtualization")</c>
/// (package Microsoft.Extensions.Diagnostics.HealthChecks). Each check runs the VMM's version query (a process), so poll it
/// at human intervals, not in a tight loop.
/// </remarks>
/// <param name="service">The service whose host is checked.</param>
public sealed class VirtualizationHealthCheck(VirtualizationService service) : IHealthCheck
{
    /// <summary>Probes the host and reports.</summary>
    /// <param name="context">The check's registration.</param>
    /// <param name="cancellationToken">Stops the probe.</param>
    /// <returns>The result, with the probed items as data.</returns>
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        HostCapabilities host = await HostCapabilities.ProbeAsync(service.Options, cancellationToken).ConfigureAwait(false);
        var data = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (HostCapability item in host.Items)
        {
            data[item.Name] = item.IsAvailable ? item.Detail : $"missing: {item.Detail}" + (item.Fix is null ? string.Empty : $" (fix: {item.Fix})");
        }

        HostCapability vmm = service.Vmm == VmmKind.Crosvm ? host.Crosvm : host.Qemu;
        var unhealthy = new List<string>();
        foreach (HostCapability required in new[] { vmm, host.Launcher, host.TemporaryDirectory })
        {
            if (!required.IsAvailable)
            {
                unhealthy.Add($"{required.Name}: {required.Detail}");
            }
        }

        if (service.Vmm == VmmKind.Crosvm && !host.Kvm.IsAvailable)
        {
            unhealthy.Add($"crosvm needs KVM: {host.Kvm.Detail}");
        }

        if (unhealthy.Count > 0)
        {
            return new HealthCheckResult(context?.Registration.FailureStatus ?? HealthStatus.Unhealthy, "VMs cannot start: " + string.Join("; ", unhealthy), data: data);
        }

        var degraded = new List<string>();
        if (service.Vmm == VmmKind.Qemu && !host.Kvm.IsAvailable)
        {
            degraded.Add("no usable KVM: QEMU emulates (TCG), guests run slowly");
        }

        if (!host.VhostVsock.IsAvailable)
        {
            degraded.Add("no vhost-vsock: guests get no vsock device");
        }

        return degraded.Count > 0
            ? HealthCheckResult.Degraded(string.Join("; ", degraded), data: data)
            : HealthCheckResult.Healthy($"VMs can start ({vmm.Name}: {vmm.Detail})", data);
    }
}
