using Virtualization.Core;

namespace Virtualization.Cli;

/// <summary>What <c>vm run</c> was asked to do.</summary>
/// <param name="ConfigPath">The JSON configuration file.</param>
internal sealed record RunOptions(string ConfigPath)
{
    /// <summary>The VMM; <see langword="null"/> for the library's default (crosvm).</summary>
    public VmmKind? Vmm { get; init; }

    /// <summary>The crosvm executable, if given.</summary>
    public string? CrosvmPath { get; init; }

    /// <summary>The QEMU executable, if given.</summary>
    public string? QemuPath { get; init; }

    /// <summary>File that receives the guest console instead of stdout.</summary>
    public string? ConsolePath { get; init; }

    /// <summary>What to type into the guest console (<c>--console-in</c>: the tool's stdin); null for no console input.</summary>
    public Stream? ConsoleInput { get; init; }

    /// <summary>Overrides the config's <c>memory_mib</c>.</summary>
    public int? MemoryMib { get; init; }

    /// <summary>Overrides the config's vCPU count.</summary>
    public int? Cpus { get; init; }

    /// <summary>QEMU acceleration; <see langword="null"/> for the default (auto).</summary>
    public VmAcceleration? Acceleration { get; init; }

    /// <summary>Root of the per-VM folders; <see langword="null"/> for the library's default.</summary>
    public string? TemporaryDirectory { get; init; }
}
