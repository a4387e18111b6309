using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Virtualization.Core;
using Virtualization.Core.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Virtualization.Core in a service collection (Microsoft.Extensions.DependencyInjection).</summary>
/// <example>
/// <code>
/// var builder = Host.CreateApplicationBuilder(args);
/// builder.Services.AddVirtualization(builder.Configuration);      // the "Virtualization" section, or:
/// builder.Services.AddVirtualization(o => o.Vmm = VmmKind.Qemu);
/// builder.Services.AddHostedService&lt;MyWorker&gt;();                 // gets IVirtualizationService injected
/// await builder.Build().RunAsync();                                // Ctrl-C: every VM is stopped, then killed
/// </code>
/// </example>
public static class VirtualizationServiceCollectionExtensions
{
    /// <summary>The configuration section <see cref="AddVirtualization(IServiceCollection, IConfiguration)"/> binds.</summary>
    public const string ConfigurationSectionName = "Virtualization";

    /// <summary>
    /// Registers a singleton <see cref="VirtualizationService"/> (also as <see cref="IVirtualizationService"/>) built from
    /// <see cref="IOptions{TOptions}"/> of <see cref="VirtualizationServiceOptions"/> and the container's
    /// <see cref="ILoggerFactory"/>; validates the options when the host starts (the messages name the setting); and adds
    /// a hosted service that, when the host stops, stops every VM gracefully and kills those still running when the host's
    /// shutdown timeout (or <see cref="VirtualizationServiceOptions.StopGracePeriod"/>, whichever is first) runs out.
    /// Calling it again only adds <paramref name="configure"/>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets options (<c>o =&gt; o.Vmm = VmmKind.Qemu</c>); <see langword="null"/> for the defaults.</param>
    /// <returns><paramref name="services"/>.</returns>
    /// <remarks>
    /// The service takes a copy of the options when it is built (at first use): changing options later has no effect on it.
    /// Disposing the container disposes the service: <c>DisposeAsync</c> stops every VM gracefully, a synchronous
    /// <c>Dispose</c> kills them (see <see cref="VirtualizationService.Dispose"/>). For a health check, add
    /// <c>services.AddHealthChecks().AddCheck&lt;VirtualizationHealthCheck&gt;("virtualization")</c>.
    /// </remarks>
    public static IServiceCollection AddVirtualization(this IServiceCollection services, Action<VirtualizationServiceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        OptionsBuilder<VirtualizationServiceOptions> options = services.AddOptions<VirtualizationServiceOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        AddCore(services);
        return services;
    }

    /// <summary>
    /// As <see cref="AddVirtualization(IServiceCollection, Action{VirtualizationServiceOptions}?)"/>, with the options bound
    /// from the <c>Virtualization</c> section of <paramref name="configuration"/> (for example
    /// <c>"Virtualization": { "Vmm": "Qemu", "StopGracePeriod": "00:00:10" }</c> in appsettings.json, or the environment
    /// variable <c>Virtualization__Vmm=Qemu</c>). Settings the section does not have keep their defaults.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The application's configuration (its <c>Virtualization</c> section is bound).</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddVirtualization(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<VirtualizationServiceOptions>().Bind(configuration.GetSection(ConfigurationSectionName));
        AddCore(services);
        return services;
    }

    private static void AddCore(IServiceCollection services)
    {
        services.AddOptions<VirtualizationServiceOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<VirtualizationServiceOptions>, VirtualizationOptionsValidator>());
        services.TryAddSingleton(static provider => new VirtualizationService(
            provider.GetRequiredService<IOptions<VirtualizationServiceOptions>>().Value,
            provider.GetService<ILoggerFactory>()));
        services.TryAddSingleton<IVirtualizationService>(static provider => provider.GetRequiredService<VirtualizationService>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, VirtualizationShutdownService>());
    }
}
