using System.Net.Sockets;
using System.Text;

namespace FakeCrosvm.Cli;

/// <summary><c>stop SOCKET</c>: sends <c>"Exit"</c> on the control socket and expects <c>"Ok"</c>.</summary>
internal static class StopCommand
{
    private const int ReplyTimeoutMs = 30_000;

    /// <exception cref="InvalidArgsException">The arguments are wrong.</exception>
    /// <exception cref="CommandFailedException">The request failed.</exception>
    public static int Run(IReadOnlyList<string> args)
    {
        string? socketPath = null;
        bool optionsEnded = false;
        foreach (string arg in args)
        {
            if (!optionsEnded)
            {
                if (arg == "--")
                {
                    optionsEnded = true;
                    continue;
                }

                if (arg is "--help" or "help")
                {
                    Console.Out.WriteLine(Usage.Stop);
                    return ExitCodes.Success;
                }

                if (arg.Length > 1 && arg[0] == '-')
                {
                    throw new InvalidArgsException($"Unrecognized argument: {arg}");
                }
            }

            if (socketPath is not null)
            {
                throw new InvalidArgsException($"Unrecognized argument: {arg}");
            }

            socketPath = arg;
        }

        if (socketPath is null)
        {
            throw new InvalidArgsException("Required positional arguments not provided:\n    socket_path");
        }

        SendExit(socketPath);
        return ExitCodes.Success;
    }

    private static void SendExit(string socketPath)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        string reply;
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(socketPath));
            socket.Send(Encoding.UTF8.GetBytes("\"Exit\""));
            socket.ReceiveTimeout = ReplyTimeoutMs;
            byte[] buffer = new byte[64 * 1024];
            int received = socket.Receive(buffer);
            reply = Encoding.UTF8.GetString(buffer, 0, received);
        }
        catch (Exception e) when (e is SocketException or ArgumentException)
        {
            throw new CommandFailedException($"failed to send request to '{socketPath}': {e.Message}", e);
        }

        if (reply != "\"Ok\"")
        {
            throw new CommandFailedException($"unexpected response: {reply}");
        }
    }
}
