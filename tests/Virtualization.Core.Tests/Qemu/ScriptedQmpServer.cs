using System.Net.Sockets;

namespace Virtualization.Core.Tests.Qemu;

/// <summary>
/// A QMP server whose every word is scripted by the test: listens on an AF_UNIX stream socket (<see cref="SocketPath"/>,
/// in a temporary folder of its own) and hands each accepted connection to the test as a
/// <see cref="ScriptedQmpConnection"/>, which sends exactly the lines the test writes and reads exactly the bytes the
/// client sent. Stands in for QEMU's <c>-qmp unix:PATH,server=on</c> without a guest.
/// </summary>
internal sealed class ScriptedQmpServer : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly List<ScriptedQmpConnection> _connections = [];

    private readonly bool _ownsFolder;

    /// <summary>Listens on <paramref name="socketPath"/>, or by default on <c>qmp.sock</c> in a temporary folder of its own.</summary>
    public ScriptedQmpServer(string? socketPath = null)
    {
        _ownsFolder = socketPath is null;
        Folder = socketPath is null ? Directory.CreateTempSubdirectory("vct-qmp-").FullName : Path.GetDirectoryName(socketPath)!;
        SocketPath = socketPath ?? Path.Combine(Folder, "qmp.sock");
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(SocketPath));
        _listener.Listen(8);
    }

    /// <summary>The folder of the socket (deleted on dispose when it is the server's own).</summary>
    public string Folder { get; }

    /// <summary>The listening socket's path.</summary>
    public string SocketPath { get; }

    /// <summary>Waits for the next client.</summary>
    public async Task<ScriptedQmpConnection> AcceptAsync()
    {
        Socket socket = await _listener.AcceptAsync();
        var connection = new ScriptedQmpConnection(socket);
        lock (_connections)
        {
            _connections.Add(connection);
        }

        return connection;
    }

    /// <summary>Waits for the next client and negotiates with it as QEMU does (<see cref="ScriptedQmpConnection.NegotiateAsync"/>).</summary>
    public async Task<ScriptedQmpConnection> AcceptNegotiatedAsync()
    {
        ScriptedQmpConnection connection = await AcceptAsync();
        await connection.NegotiateAsync();
        return connection;
    }

    /// <summary>Closes every accepted connection (the client reads end-of-file, as when QEMU exits).</summary>
    public void CloseConnections()
    {
        lock (_connections)
        {
            foreach (ScriptedQmpConnection connection in _connections)
            {
                connection.Dispose();
            }
        }
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        _listener.Dispose();
        CloseConnections();
        if (_ownsFolder)
        {
            Directory.Delete(Folder, recursive: true);
        }
        else
        {
            File.Delete(SocketPath);
        }

        return ValueTask.CompletedTask;
    }
}
