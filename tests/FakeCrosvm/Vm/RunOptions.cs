namespace FakeCrosvm.Vm;

/// <summary>Everything <c>run</c> accepted on its command line, plus the top-level options.</summary>
internal sealed class RunOptions
{
    public bool ExtendedStatus { get; set; }

    public string? Kernel { get; set; }

    public string? Bios { get; set; }

    public string? Initrd { get; set; }

    public string? Socket { get; set; }

    public string? Name { get; set; }

    public long? Cid { get; set; }

    public long? VsockCid { get; set; }

    public long MemoryMib { get; set; } = 256;

    public long Cpus { get; set; } = 1;

    public bool DisableSandbox { get; set; }

    public bool ProtectedVm { get; set; }

    /// <summary><c>--no-balloon</c>: no balloon device, so balloon requests are refused.</summary>
    public bool NoBalloon { get; set; }

    public List<string> Params { get; } = [];

    public List<DiskOption> Disks { get; } = [];

    public List<SerialOption> Serials { get; } = [];

    /// <summary>Deprecation warnings to log once the VM starts.</summary>
    public List<string> Warnings { get; } = [];
}
