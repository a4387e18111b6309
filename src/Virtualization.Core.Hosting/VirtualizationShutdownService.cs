using Microsoft.Extensions.Hosting;

namespace Virtualization.Core.Hosting;

/// <summary>
/// Stops every VM of the <see cref="VirtualizationService"/> when the host stops: gracefully, then killed when the host's
/// shutdown token fires (its <c>ShutdownTimeout</c>) or <see cref="VirtualizationServiceOptions.StopGracePeriod"/> runs out.
/// Registered before the application's own hosted services, so it stops after them (hosts stop services in reverse order).
/// </summary>
internal sealed class VirtualizationShutdownService(VirtualizationService service) : IHostedService
{
    /// <inheritdoc/>
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc/>
    public Task StopAsync(CancellationToken cancellationToken) => service.StopAllAsync(cancellationToken);
}
