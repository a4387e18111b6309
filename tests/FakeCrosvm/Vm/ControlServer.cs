using System.Net.Sockets;
using System.Text;

namespace FakeCrosvm.Vm;

/// <summary>
/// The control socket: AF_UNIX SOCK_SEQPACKET, one JSON packet per request and per reply.
/// <c>"Exit"</c> is answered with <c>"Ok"</c> and ends the run (unless the scenario ignores stops); <c>"SuspendVcpus"</c>,
/// <c>"SuspendVm"</c>, <c>"ResumeVcpus"</c> and <c>"ResumeVm"</c> pause and resume the <see cref="FakeGuest"/>;
/// <c>{"BalloonCommand":{"Adjust":{"num_bytes":N,...}}}</c> sets the balloon and <c>{"BalloonCommand":{"Stats":{}}}</c>
/// is answered with <c>{"BalloonStats":{...}}</c> (both <c>{"Err":...}</c> under <c>--no-balloon</c>);
/// anything else gets <c>{"Err":"unknown request"}</c>.
/// </summary>
internal sealed class ControlServer : IDisposable
{
    private static readonly byte[] s_ok = Encoding.UTF8.GetBytes("\"Ok\"");
    private static readonly byte[] s_unknown = Encoding.UTF8.GetBytes("{\"Err\":\"unknown request\"}");
    private readonly Socket _listener;
    private readonly string _path;
    private readonly bool _ignoreStop;
    private readonly FakeGuest _guest;
    private readonly TaskCompletionSource _stopRequested = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _disposed;

    private ControlServer(Socket listener, string path, bool ignoreStop, FakeGuest guest)
    {
        _guest = guest;
        _listener = listener;
        _path = path;
        _ignoreStop = ignoreStop;
    }

    /// <summary>Completes when a stop request has been answered.</summary>
    public Task StopRequested => _stopRequested.Task;

    /// <exception cref="CommandFailedException">The socket cannot be bound.</exception>
    public static ControlServer Start(string path, bool ignoreStop, FakeGuest guest)
    {
        var listener = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(path));
            listener.Listen(128);
        }
        catch (Exception e) when (e is SocketException or ArgumentException)
        {
            listener.Dispose();
            throw new CommandFailedException($"failed to create control server at '{path}': {e.Message}", e);
        }

        var server = new ControlServer(listener, path, ignoreStop, guest);
        var thread = new Thread(server.AcceptLoop) { IsBackground = true, Name = "control-accept" };
        thread.Start();
        return server;
    }

    /// <summary>Closes the listener and unlinks the socket file (a clean exit).</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _listener.Dispose();
        try
        {
            File.Delete(_path);
        }
        catch (IOException)
        {
            // Nothing useful to do: crosvm would leave the file behind too.
        }
    }

    private void AcceptLoop()
    {
        while (true)
        {
            Socket client;
            try
            {
                client = _listener.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }

            var thread = new Thread(() => Serve(client)) { IsBackground = true, Name = "control-client" };
            thread.Start();
        }
    }

    private string Answer(string request)
    {
        switch (request)
        {
            case "\"SuspendVcpus\"" or "\"SuspendVm\"":
                _guest.Suspend();
                return "\"Ok\"";
            case "\"ResumeVcpus\"" or "\"ResumeVm\"":
                _guest.Resume();
                return "\"Ok\"";
        }

        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(request);
            if (document.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object
                && document.RootElement.TryGetProperty("BalloonCommand", out System.Text.Json.JsonElement balloon))
            {
                if (!_guest.HasBalloon)
                {
                    return "{\"Err\":\"balloon device is not present (--no-balloon)\"}";
                }

                if (balloon.TryGetProperty("Adjust", out System.Text.Json.JsonElement adjust))
                {
                    _guest.SetBalloon(adjust.GetProperty("num_bytes").GetInt64());
                    return "\"Ok\"";
                }

                if (balloon.TryGetProperty("Stats", out _))
                {
                    return _guest.StatsJson();
                }
            }
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
        }

        return Encoding.UTF8.GetString(s_unknown);
    }

    private void Serve(Socket client)
    {
        using (client)
        {
            byte[] buffer = new byte[64 * 1024];
            try
            {
                while (true)
                {
                    int received = client.Receive(buffer);
                    if (received == 0)
                    {
                        return;
                    }

                    string request = Encoding.UTF8.GetString(buffer, 0, received).Trim();
                    if (request == "\"Exit\"")
                    {
                        client.Send(s_ok);
                        if (!_ignoreStop)
                        {
                            _stopRequested.TrySetResult();
                        }
                    }
                    else
                    {
                        client.Send(Encoding.UTF8.GetBytes(Answer(request)));
                    }
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // The client went away.
            }
        }
    }
}
