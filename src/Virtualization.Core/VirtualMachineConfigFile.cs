using System.Text.Json;
using Virtualization.Core.Config;

namespace Virtualization.Core;

/// <summary>
/// Reads the JSON VM configuration files of Android's <c>vm run</c> into a <see cref="VirtualMachineRawConfig"/>.
/// </summary>
/// <remarks>
/// <para>
/// The file is one JSON object. Mapped fields: <c>kernel</c>, <c>initrd</c>, <c>params</c>, <c>bootloader</c> (strings),
/// <c>disks</c> (array of <c>{"image": path, "writable": bool}</c> or
/// <c>{"partitions": [{"label", "path", "writable"}], "writable": bool}</c>; a disk's <c>writable</c> is required, a
/// partition's defaults to <see langword="false"/>), <c>protected</c> (bool), <c>memory_mib</c> (positive integer),
/// <c>cpus</c> (positive integer, an extension of this library) and <c>cpu_topology</c> (<c>"one_cpu"</c> is one vCPU,
/// <c>"match_host"</c> is <see cref="Environment.ProcessorCount"/>).
/// </para>
/// <para>
/// <c>payload_channel</c> is another extension (Android's raw config has no payload field) and maps to
/// <see cref="VirtualMachineRawConfig.PayloadChannel"/>: <c>true</c> for the defaults, <c>false</c> for none, or
/// <c>{"transport": "serial"|"vsock", "stdio": bool, "start_timeout_ms": N}</c> (0 turns the watchdog off).
/// </para>
/// <para>
/// Fields Android defines but this library does not use (<c>name</c>, <c>platform_version</c>, <c>console_input_device</c>,
/// <c>devices</c>, <c>hugepages</c>, <c>gdb_port</c>, <c>boost_uclamp</c>) are type-checked and reported through the
/// <c>ignoredFields</c> overloads. Any other field is an error, unlike Android, so that typos are caught. A JSON
/// <see langword="null"/> counts as an absent optional field. Relative paths are resolved against the folder of the file
/// (or the given base folder). Files are not opened: a missing kernel or image is reported by
/// <see cref="VirtualizationService.CreateVmAsync"/>, which also checks the rules between fields (kernel or bootloader, one
/// of image and partitions, ...).
/// </para>
/// </remarks>
public static class VirtualMachineConfigFile
{
    /// <summary>Reads the configuration file at <paramref name="path"/>.</summary>
    /// <param name="path">Path of the JSON file; relative paths inside it are resolved against its folder.</param>
    /// <returns>The configuration, with absolute paths.</returns>
    /// <exception cref="VirtualMachineConfigException">The file is not valid JSON (the message gives the 1-based line and
    /// column), a field is unknown, has the wrong JSON type or an invalid value; <see cref="VirtualMachineConfigException.Field"/>
    /// names it (for example <c>disks[0].partitions[1].label</c>).</exception>
    /// <exception cref="IOException">The file cannot be read (<see cref="FileNotFoundException"/> when it does not exist).</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be read.</exception>
    public static VirtualMachineRawConfig Load(string path) => Load(path, out _);

    /// <summary>Reads the configuration file at <paramref name="path"/> and reports the fields it ignored.</summary>
    /// <param name="path">Path of the JSON file; relative paths inside it are resolved against its folder.</param>
    /// <param name="ignoredFields">The known Android fields present in the file that this library does not use, in file order.</param>
    /// <returns>The configuration, with absolute paths.</returns>
    /// <exception cref="VirtualMachineConfigException">See <see cref="Load(string)"/>.</exception>
    /// <exception cref="IOException">The file cannot be read (<see cref="FileNotFoundException"/> when it does not exist).</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be read.</exception>
    public static VirtualMachineRawConfig Load(string path, out IReadOnlyList<string> ignoredFields)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string fullPath = Path.GetFullPath(path);
        byte[] bytes = File.ReadAllBytes(fullPath);
        ReadOnlyMemory<byte> utf8 = bytes;
        if (utf8.Span.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            utf8 = utf8[3..];
        }

        return ConfigFileReader.Read(utf8, Path.GetDirectoryName(fullPath)!, out ignoredFields);
    }

    /// <summary>Parses configuration JSON text.</summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="baseDirectory">The folder relative paths are resolved against.</param>
    /// <returns>The configuration, with absolute paths.</returns>
    /// <exception cref="VirtualMachineConfigException">See <see cref="Load(string)"/>.</exception>
    public static VirtualMachineRawConfig Parse(string json, string baseDirectory) => Parse(json, baseDirectory, out _);

    /// <summary>Parses configuration JSON text and reports the fields it ignored.</summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="baseDirectory">The folder relative paths are resolved against.</param>
    /// <param name="ignoredFields">The known Android fields present in the text that this library does not use, in order.</param>
    /// <returns>The configuration, with absolute paths.</returns>
    /// <exception cref="VirtualMachineConfigException">See <see cref="Load(string)"/>.</exception>
    public static VirtualMachineRawConfig Parse(string json, string baseDirectory, out IReadOnlyList<string> ignoredFields)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentException.ThrowIfNullOrEmpty(baseDirectory);
        return ConfigFileReader.Read(System.Text.Encoding.UTF8.GetBytes(json), Path.GetFullPath(baseDirectory), out ignoredFields);
    }

    /// <summary>The JSON options: strict JSON, except that comments are allowed.</summary>
    internal static JsonDocumentOptions DocumentOptions => new() { CommentHandling = JsonCommentHandling.Skip, MaxDepth = 64 };
}
