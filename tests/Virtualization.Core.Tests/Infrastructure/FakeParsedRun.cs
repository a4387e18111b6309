using System.Text.Json;

namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>What the fake crosvm parsed from its argv (scenario key <c>parsed</c>, docs/fake-crosvm.md).</summary>
internal sealed record FakeParsedRun(
    string? Kernel,
    string? Initrd,
    string? Bios,
    string? Socket,
    bool ProtectedVm,
    long MemoryMib,
    long Cpus,
    long? VsockCid,
    IReadOnlyList<string> Params,
    IReadOnlyList<FakeParsedDisk> Disks,
    IReadOnlyList<FakeParsedSerial> Serials)
{
    private static readonly JsonSerializerOptions s_options = new(JsonSerializerDefaults.Web);

    /// <summary>Reads the record the fake wrote at <paramref name="path"/>.</summary>
    public static async Task<FakeParsedRun> ReadAsync(string path) =>
        JsonSerializer.Deserialize<FakeParsedRun>(await File.ReadAllTextAsync(path), s_options)
        ?? throw new InvalidDataException($"{path} holds no parsed run.");
}
