using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace FakeCrosvm.Cli;

/// <summary>
/// The control subcommands, with today's crosvm grammar (crosvm.md §3.2; the socket path is the last positional):
/// <c>stop SOCKET</c>, <c>suspend SOCKET [--full]</c>, <c>resume SOCKET [--full]</c>, <c>balloon SIZE SOCKET [--wait]</c>
/// and <c>balloon_stats SOCKET</c>. Each sends one JSON request packet on the control socket (SOCK_SEQPACKET) and exits 0
/// on the expected reply; <c>balloon_stats</c> prints the reply as pretty JSON on stdout.
/// </summary>
internal static class ControlCommand
{
    private const int ReplyTimeoutMs = 30_000;
    private static readonly JsonSerializerOptions s_pretty = new() { WriteIndented = true };

    /// <exception cref="InvalidArgsException">The arguments are wrong.</exception>
    /// <exception cref="CommandFailedException">The request failed.</exception>
    public static int Run(string command, IReadOnlyList<string> args)
    {
        var positionals = new List<string>();
        bool flag = false; // --full (suspend/resume) or --wait (balloon)
        string? flagName = command switch
        {
            "suspend" or "resume" => "--full",
            "balloon" => "--wait",
            _ => null,
        };
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
                    Console.Out.WriteLine(command switch
                    {
                        "stop" => Usage.Stop,
                        "suspend" => Usage.Suspend,
                        "resume" => Usage.Resume,
                        "balloon" => Usage.Balloon,
                        _ => Usage.BalloonStats,
                    });
                    return ExitCodes.Success;
                }

                if (flagName is not null && arg == flagName)
                {
                    flag = !flag ? true : throw new InvalidArgsException("duplicate values provided");
                    continue;
                }

                if (arg.Length > 1 && arg[0] == '-')
                {
                    throw new InvalidArgsException($"Unrecognized argument: {arg}");
                }
            }

            positionals.Add(arg);
        }

        string[] names = command == "balloon" ? ["num_bytes", "socket_path"] : ["socket_path"];
        if (positionals.Count < names.Length)
        {
            throw new InvalidArgsException("Required positional arguments not provided:\n    " + string.Join("\n    ", names[positionals.Count..]));
        }

        if (positionals.Count > names.Length)
        {
            throw new InvalidArgsException($"Unrecognized argument: {positionals[names.Length]}");
        }

        string socketPath = positionals[^1];
        string request = command switch
        {
            "stop" => "\"Exit\"",
            "suspend" => flag ? "\"SuspendVm\"" : "\"SuspendVcpus\"",
            "resume" => flag ? "\"ResumeVm\"" : "\"ResumeVcpus\"",
            "balloon" => string.Create(
                CultureInfo.InvariantCulture,
                $"{{\"BalloonCommand\":{{\"Adjust\":{{\"num_bytes\":{ParseSize(positionals[0])},\"wait_for_success\":{(flag ? "true" : "false")}}}}}}}"),
            _ => "{\"BalloonCommand\":{\"Stats\":{}}}",
        };
        string reply = Send(socketPath, request);
        if (command == "balloon_stats")
        {
            try
            {
                using var document = JsonDocument.Parse(reply);
                if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("BalloonStats", out _))
                {
                    Console.Out.WriteLine(JsonSerializer.Serialize(document.RootElement, s_pretty));
                    return ExitCodes.Success;
                }
            }
            catch (JsonException)
            {
            }

            throw new CommandFailedException($"unexpected response: {reply}");
        }

        if (reply != "\"Ok\"")
        {
            throw new CommandFailedException($"unexpected response: {reply}");
        }

        return ExitCodes.Success;
    }

    /// <summary>A u64 as argh parses it: decimal digits only.</summary>
    private static ulong ParseSize(string value) =>
        value.Length > 0 && value.All(char.IsAsciiDigit) && ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out ulong size)
            ? size
            : throw new InvalidArgsException($"Error parsing positional argument 'num_bytes' with value '{value}': invalid digit found in string");

    private static string Send(string socketPath, string request)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(socketPath));
            socket.Send(Encoding.UTF8.GetBytes(request));
            socket.ReceiveTimeout = ReplyTimeoutMs;
            byte[] buffer = new byte[64 * 1024];
            int received = socket.Receive(buffer);
            return Encoding.UTF8.GetString(buffer, 0, received);
        }
        catch (Exception e) when (e is SocketException or ArgumentException)
        {
            throw new CommandFailedException($"failed to send request to '{socketPath}': {e.Message}", e);
        }
    }
}
