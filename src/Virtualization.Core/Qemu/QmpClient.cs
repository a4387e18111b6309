using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Virtualization.Core.Qemu;

/// <summary>
/// A minimal QMP (QEMU Machine Protocol) client over the VM's Unix socket: negotiates capabilities, sends commands
/// (without waiting, or <see cref="ExecuteAsync"/> with an <c>id</c> that its reply carries back), and remembers the
/// events that say why the guest went down.
/// </summary>
internal sealed class QmpClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly StreamReader _reader;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ConcurrentDictionary<long, TaskCompletionSource<JsonElement>> _pending = new();
    private Task _readLoop = Task.CompletedTask;
    private long _nextId;
    private volatile bool _closed;
    private volatile string? _shutdownReason;
    private volatile bool _panicked;

    private QmpClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _reader = new StreamReader(_stream, Encoding.UTF8);
    }

    /// <summary>The <c>reason</c> of the last <c>SHUTDOWN</c> event (<c>guest-shutdown</c>, <c>guest-reset</c>, ...), if any.</summary>
    internal string? ShutdownReason => _shutdownReason;

    /// <summary>Whether a <c>GUEST_PANICKED</c> event arrived.</summary>
    internal bool Panicked => _panicked;

    /// <summary>Connects and negotiates; returns null when nothing listens yet.</summary>
    internal static async Task<QmpClient?> TryConnectAsync(string path, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException)
        {
            socket.Dispose();
            return null;
        }

        var client = new QmpClient(socket);
        try
        {
            // Greeting {"QMP": {...}}, then capabilities negotiation.
            if (await client.ReadMessageAsync(cancellationToken).ConfigureAwait(false) is not { } greeting
                || !greeting.RootElement.TryGetProperty("QMP", out _))
            {
                throw new IOException("QEMU did not greet on its QMP socket.");
            }

            await client.SendAsync("qmp_capabilities", cancellationToken).ConfigureAwait(false);
            while (await client.ReadMessageAsync(cancellationToken).ConfigureAwait(false) is { } reply)
            {
                if (reply.RootElement.TryGetProperty("return", out _))
                {
                    client._readLoop = client.ReadEventsAsync();
                    return client;
                }

                client.Observe(reply);
            }

            throw new IOException("QEMU closed its QMP socket during negotiation.");
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Sends <c>{"execute": command}</c>; the reply is read (and ignored) by the event loop.</summary>
    internal async Task SendAsync(string command, CancellationToken cancellationToken)
    {
        byte[] line = Encoding.UTF8.GetBytes($"{{\"execute\":\"{command}\"}}\n");
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _stream.WriteAsync(line, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// Runs <paramref name="command"/> with <paramref name="argumentsJson"/> (a JSON object, or null) and returns its
    /// <c>return</c> value.
    /// </summary>
    /// <exception cref="QmpErrorException">QEMU answered with an error.</exception>
    /// <exception cref="IOException">The socket closed (QEMU exited) before the reply.</exception>
    internal async Task<JsonElement> ExecuteAsync(string command, string? argumentsJson, CancellationToken cancellationToken)
    {
        long id = Interlocked.Increment(ref _nextId);
        var reply = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = reply;
        try
        {
            if (_closed)
            {
                throw new IOException("QEMU closed its QMP socket.");
            }

            string arguments = argumentsJson is null ? string.Empty : ",\"arguments\":" + argumentsJson;
            byte[] line = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{{\"execute\":\"{command}\"{arguments},\"id\":{id}}}\n"));
            await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await _stream.WriteAsync(line, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _writeLock.Release();
            }

            return await reply.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    /// <summary>How many commands wait for a reply (an ended command, answered, failed or cancelled, is forgotten).</summary>
    internal int PendingCommands => _pending.Count;

    /// <summary>Waits until QEMU closes the socket (it exits), so every event has been seen.</summary>
    internal Task Completion => _readLoop;

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        _socket.Dispose();
        await _readLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _reader.Dispose();
        _writeLock.Dispose();
    }

    private async Task ReadEventsAsync()
    {
        try
        {
            while (await ReadMessageAsync(CancellationToken.None).ConfigureAwait(false) is { } message)
            {
                Observe(message);
            }
        }
        catch (IOException)
        {
            // QEMU went away: the process monitor reports it.
        }
        catch (ObjectDisposedException)
        {
        }
        finally
        {
            _closed = true;
            foreach (TaskCompletionSource<JsonElement> reply in _pending.Values)
            {
                reply.TrySetException(new IOException("QEMU closed its QMP socket before it answered (it exited)."));
            }
        }
    }

    private void Observe(JsonDocument message)
    {
        using (message)
        {
            if (message.RootElement.TryGetProperty("id", out JsonElement id))
            {
                if (id.ValueKind == JsonValueKind.Number && id.TryGetInt64(out long number) && _pending.TryGetValue(number, out var reply))
                {
                    if (message.RootElement.TryGetProperty("return", out JsonElement value))
                    {
                        reply.TrySetResult(value.Clone());
                    }
                    else if (message.RootElement.TryGetProperty("error", out JsonElement error))
                    {
                        reply.TrySetException(new QmpErrorException(
                            error.TryGetProperty("class", out JsonElement c) ? c.GetString() ?? string.Empty : string.Empty,
                            error.TryGetProperty("desc", out JsonElement d) ? d.GetString() ?? string.Empty : string.Empty));
                    }
                }

                return;
            }

            if (!message.RootElement.TryGetProperty("event", out JsonElement name))
            {
                return;
            }

            switch (name.GetString())
            {
                case "SHUTDOWN":
                    if (message.RootElement.TryGetProperty("data", out JsonElement data)
                        && data.TryGetProperty("reason", out JsonElement reason))
                    {
                        _shutdownReason = reason.GetString();
                    }

                    break;
                case "GUEST_PANICKED":
                    _panicked = true;
                    break;
            }
        }
    }

    private async Task<JsonDocument?> ReadMessageAsync(CancellationToken cancellationToken)
    {
        while (await _reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            if (line.Length > 0)
            {
                return JsonDocument.Parse(line);
            }
        }

        return null;
    }
}
