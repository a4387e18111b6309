using System.Net.Sockets;

namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>Makes files that are not regular files (FIFOs, sockets, loop block devices) for bad-input tests.</summary>
internal static class SpecialFiles
{
    /// <summary>Creates a FIFO at <paramref name="path"/> with <c>mkfifo(1)</c> and returns the path.</summary>
    public static async Task<string> FifoAsync(string path)
    {
        (int exit, _, string stderr) = await TestProcess.RunAsync("mkfifo", path);
        exit.Should().Be(0, "mkfifo must create {0}: {1}", path, stderr);
        return path;
    }

    /// <summary>
    /// Binds a unix socket at <paramref name="path"/>, which creates the socket file. Keep the socket until the file is no
    /// longer needed: .NET removes the file when it disposes a socket it bound.
    /// </summary>
    public static Socket BoundSocket(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        return socket;
    }

    /// <summary>
    /// Attaches <paramref name="backingFile"/> to a free loop device with <c>losetup -f --show</c>; returns the device
    /// path, or null with the reason when this machine cannot (not root, no loop devices, no losetup).
    /// </summary>
    public static async Task<(string? Device, string Reason)> TryAttachLoopAsync(string backingFile)
    {
        if (!Environment.IsPrivilegedProcess)
        {
            return (null, "attaching a loop device needs root");
        }

        try
        {
            (int exit, string stdout, string stderr) = await TestProcess.RunAsync("losetup", "-f", "--show", backingFile);
            string device = stdout.Trim();
            return exit == 0 && device.StartsWith("/dev/", StringComparison.Ordinal)
                ? (device, string.Empty)
                : (null, $"losetup -f --show failed (exit {exit}): {(stdout + stderr).Trim()}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (null, "losetup is not installed (util-linux): " + e.Message);
        }
    }

    /// <summary>Detaches a loop device made by <see cref="TryAttachLoopAsync"/>.</summary>
    public static async Task DetachLoopAsync(string device) => await TestProcess.RunAsync("losetup", "-d", device);
}
