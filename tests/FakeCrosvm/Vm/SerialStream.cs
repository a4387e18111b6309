using System.Net.Sockets;

namespace FakeCrosvm.Vm;

/// <summary>
/// A <c>type=unix-stream</c> serial port: crosvm connects a SOCK_STREAM socket to <c>path</c> once, when it creates the
/// device, and fails the run (exit 1) if nobody listens (crosvm.md §2.2). With <c>input-unix-stream</c> the same socket
/// also carries the guest's input.
/// </summary>
internal sealed class SerialStream : IDisposable
{
    private SerialStream(SerialOption port, Socket socket)
    {
        Port = port;
        Socket = socket;
    }

    public SerialOption Port { get; }

    public Socket Socket { get; }

    /// <exception cref="CommandFailedException">Nothing listens at the port's path.</exception>
    public static SerialStream Connect(SerialOption port)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(port.Path!));
            return new SerialStream(port, socket);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new CommandFailedException(
                $"failed to create serial device {port.Hardware} num {port.Num}: Failed to connect to socket: {e.Message}", e);
        }
    }

    public void Dispose() => Socket.Dispose();
}
