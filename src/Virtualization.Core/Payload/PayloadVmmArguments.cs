using Virtualization.Core.Crosvm;
using Virtualization.Core.Qemu;

namespace Virtualization.Core.Payload;

/// <summary>
/// The VMM arguments that wire the serial transport's ports to the host's sockets (the host listens there before the
/// launch; the VMM connects at startup). Kept here so the runners' command-line builders only append one block.
/// </summary>
internal static class PayloadVmmArguments
{
    /// <summary>
    /// QEMU (microvm, virtio-mmio): one <c>virtio-serial-device</c> with a named <c>virtserialport</c> per socket,
    /// each fed by a client socket chardev (<c>server=off</c>). The guest finds them by name in
    /// <c>/sys/class/virtio-ports/*/name</c>. Paths are escaped for QEMU's option syntax (<c>,</c> → <c>,,</c>).
    /// </summary>
    public static IEnumerable<string> Qemu(PayloadChannelOptions? options, string folder)
    {
        if (options is not { Transport: PayloadTransport.Serial })
        {
            yield break;
        }

        yield return "-device";
        yield return "virtio-serial-device,id=vcore-payload-bus";
        foreach ((string id, string path, string name) in Ports(options, folder))
        {
            yield return "-chardev";
            yield return $"socket,id={id},path={QemuCommandLine.EscapeOption(path)},server=off";
            yield return "-device";
            yield return $"virtserialport,bus=vcore-payload-bus.0,chardev={id},name={name}";
        }
    }

    /// <summary>
    /// crosvm: one <c>--serial</c> per socket, <c>hardware=virtio-console</c> of <c>type=unix-stream</c> (crosvm
    /// connects once at startup; crosvm.md §2.2; needs a crosvm from 2024-11 or later). crosvm's in-process
    /// virtio-console has one port per device and no port names, so the guest sees them as <c>/dev/hvc0</c> (num 1,
    /// lifecycle) and <c>/dev/hvc1</c> (num 2, stdio, with <c>input-unix-stream</c> so the host can write to it).
    /// </summary>
    public static IEnumerable<string> Crosvm(PayloadChannelOptions? options, string folder)
    {
        if (options is not { Transport: PayloadTransport.Serial })
        {
            yield break;
        }

        yield return "--serial";
        yield return $"type=unix-stream,hardware=virtio-console,num=1,path={CrosvmKeyValue.Quote(PayloadSockets.ControlPath(folder))}";
        if (options.Stdio)
        {
            yield return "--serial";
            yield return $"type=unix-stream,hardware=virtio-console,num=2,path={CrosvmKeyValue.Quote(PayloadSockets.StdioPath(folder))},input-unix-stream=true";
        }
    }

    private static IEnumerable<(string Id, string Path, string Name)> Ports(PayloadChannelOptions options, string folder)
    {
        yield return ("vcore-payload", PayloadSockets.ControlPath(folder), PayloadSockets.ControlPortName);
        if (options.Stdio)
        {
            yield return ("vcore-stdio", PayloadSockets.StdioPath(folder), PayloadSockets.StdioPortName);
        }
    }
}
