using System.Net.Sockets;
using System.Text;

namespace Virtualization.Core.Tests.Qemu;

/// <summary>
/// The server end of one QMP connection of a <see cref="ScriptedQmpServer"/>: the test sends QEMU's lines (terminated
/// with <c>\r\n</c>, as QEMU does) and reads the client's bytes line by line, exactly as they arrived.
/// </summary>
internal sealed class ScriptedQmpConnection : IDisposable
{
    /// <summary>A greeting as QEMU 8.2 sends it.</summary>
    public const string Greeting =
        "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 8}, \"package\": \"Debian 1:8.2.2\"}, \"capabilities\": [\"oob\"]}}";

    /// <summary>The capabilities negotiation, byte for byte as the client must send it.</summary>
    public const string CapabilitiesCommand = "{\"execute\":\"qmp_capabilities\"}\n";

    private readonly Socket _socket;
    private readonly List<byte> _received = [];
    private readonly byte[] _chunk = new byte[4096];

    internal ScriptedQmpConnection(Socket socket) => _socket = socket;

    /// <summary>Sends <paramref name="json"/> and QEMU's line terminator.</summary>
    public Task SendLineAsync(string json) => SendAsync(json + "\r\n");

    /// <summary>Sends <paramref name="text"/> as it is.</summary>
    public async Task SendAsync(string text)
    {
        ReadOnlyMemory<byte> bytes = Encoding.UTF8.GetBytes(text);
        while (!bytes.IsEmpty)
        {
            int sent = await _socket.SendAsync(bytes, SocketFlags.None);
            bytes = bytes[sent..];
        }
    }

    /// <summary>The next line the client sent, with its <c>\n</c>; at end-of-file what is left (null when nothing is).</summary>
    public async Task<string?> ReadLineAsync()
    {
        while (true)
        {
            int newline = _received.IndexOf((byte)'\n');
            if (newline >= 0)
            {
                return Take(newline + 1);
            }

            if (!await ReceiveAsync())
            {
                return _received.Count == 0 ? null : Take(_received.Count);
            }
        }
    }

    /// <summary>Everything the client sends until it closes the connection (or resets it).</summary>
    public async Task<string> ReadToEndAsync()
    {
        while (await ReceiveAsync())
        {
        }

        return Take(_received.Count);
    }

    /// <summary>Greets, expects exactly <see cref="CapabilitiesCommand"/>, and answers it.</summary>
    public async Task NegotiateAsync()
    {
        await SendLineAsync(Greeting);
        string? line = await ReadLineAsync();
        if (line != CapabilitiesCommand)
        {
            throw new InvalidOperationException($"expected the capabilities negotiation, got: {line ?? "end-of-file"}");
        }

        await SendLineAsync("{\"return\": {}}");
    }

    /// <summary>Closes the sending side: the client reads end-of-file (as when QEMU exits) while this end still reads.</summary>
    public void CloseOutput() => _socket.Shutdown(SocketShutdown.Send);

    /// <inheritdoc/>
    public void Dispose() => _socket.Dispose();

    private async Task<bool> ReceiveAsync()
    {
        int read;
        try
        {
            read = await _socket.ReceiveAsync(_chunk, SocketFlags.None);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            read = 0; // The client closed with our lines unread: it hung up all the same.
        }

        _received.AddRange(_chunk.AsSpan(0, read));
        return read > 0;
    }

    private string Take(int count)
    {
        string text = Encoding.UTF8.GetString(_received.GetRange(0, count).ToArray());
        _received.RemoveRange(0, count);
        return text;
    }
}
