namespace FakeCrosvm.Vm;

/// <summary>One <c>--serial</c> port after parsing and defaulting.</summary>
internal sealed record SerialOption(
    string Type,
    string Hardware,
    long Num,
    string? Path,
    string? Input,
    bool Console,
    bool Earlycon,
    bool Stdin,
    bool InputUnixStream = false,
    string? Name = null)
{
    public bool IsVirtioConsole => Hardware is "virtio-console" or "legacy-virtio-console";

    /// <summary>The kernel's name for the port: ttyS&lt;n-1&gt; or hvc&lt;n-1&gt;.</summary>
    public string KernelDevice => IsVirtioConsole ? $"hvc{Num - 1}" : $"ttyS{Num - 1}";
}
