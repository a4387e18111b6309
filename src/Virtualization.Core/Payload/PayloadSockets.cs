namespace Virtualization.Core.Payload;

/// <summary>The Unix sockets of the serial transport, in the VM's private folder. The host listens; the VMM connects.</summary>
internal static class PayloadSockets
{
    /// <summary>The lifecycle port's socket.</summary>
    public const string ControlName = "payload.sock";

    /// <summary>The stdio port's socket.</summary>
    public const string StdioName = "payload-stdio.sock";

    /// <summary>The guest-visible name of the lifecycle port (QEMU <c>virtserialport name=</c>).</summary>
    public const string ControlPortName = "vcore.payload";

    /// <summary>The guest-visible name of the stdio port.</summary>
    public const string StdioPortName = "vcore.stdio";

    /// <summary>Every socket name, for the path-length check when the service is built.</summary>
    public static IReadOnlyList<string> Names { get; } = [ControlName, StdioName];

    /// <summary>The lifecycle socket of the VM whose folder is <paramref name="folder"/>.</summary>
    public static string ControlPath(string folder) => Path.Combine(folder, ControlName);

    /// <summary>The stdio socket of the VM whose folder is <paramref name="folder"/>.</summary>
    public static string StdioPath(string folder) => Path.Combine(folder, StdioName);
}
