using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>Talks to a running tests/StubVmm/stub-vmm over its control socket (crosvm mode: SOCK_SEQPACKET).</summary>
internal static class StubControl
{
    /// <summary>The control socket of the stub running VM <paramref name="vm"/> of <paramref name="service"/>, while it is listed.</summary>
    public static string? SocketOf(IVirtualizationService service, IVirtualMachine vm) =>
        service.DebugListVms().FirstOrDefault(i => i.Cid == vm.Cid)?.TemporaryDirectory is { } folder
            ? Path.Combine(folder, "crosvm.sock")
            : null;

    /// <summary>Sends one request; returns the reply, or null when no stub is up at <paramref name="socket"/>.</summary>
    public static string? Send(string socket, string request)
    {
        try
        {
            using var client = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
            client.Connect(new UnixDomainSocketEndPoint(socket));
            client.Send(Encoding.ASCII.GetBytes(request));
            var reply = new byte[64];
            int read = client.Receive(reply);
            return read > 0 ? Encoding.ASCII.GetString(reply, 0, read) : null;
        }
        catch (SocketException)
        {
            return null; // Not up, or already gone.
        }
    }

    /// <summary>The stub's console progress (<c>console_loop=1</c>): bytes written so far, and polls in a row it has been stalled.</summary>
    public static (long Written, long Stalled) Progress(string socket)
    {
        string reply = Send(socket, "progress") ?? throw new InvalidOperationException($"no stub VMM answers at {socket}");
        string[] fields = reply.Trim().Split(' ');
        return (long.Parse(fields[0], CultureInfo.InvariantCulture), long.Parse(fields[1], CultureInfo.InvariantCulture));
    }
}
