using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Virtualization.Core.Vmm;

/// <summary>
/// The process-wide listener that <c>vcore-exec</c> connects to for a VMM's stderr and console: one abstract-namespace
/// Unix socket (nothing on the filesystem, gone with the process) and one accept loop for every VM. Each connection
/// starts with a kind byte (<c>E</c> stderr, <c>O</c> console) and the launch's 32-digit token; it is handed to the
/// launch that registered the token together with the peer's pid (<c>SO_PEERCRED</c>), which the launch compares with
/// the pid it started: the token is visible in the helper's argv, the pid check is what makes it trustworthy.
/// </summary>
internal static class VmmIoListener
{
    private const int HeaderLength = 33;
    private static readonly TimeSpan s_headerTimeout = TimeSpan.FromSeconds(10);
    private static readonly ConcurrentDictionary<string, Launch> s_launches = new(StringComparer.Ordinal);
    private static readonly InitOnce<string> s_name = new(Listen);

    /// <summary>The abstract socket name (without the leading NUL) to pass to <c>vcore-exec</c>.</summary>
    internal static string Name => s_name.Value;

    /// <summary>Registers a launch; dispose the result to stop accepting its connections.</summary>
    internal static Launch Register()
    {
        _ = s_name.Value;
        var launch = new Launch(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)));
        s_launches[launch.Token] = launch;
        return launch;
    }

    /// <summary>Whether a launch with <paramref name="token"/> is registered (for tests: <see cref="Launch.Dispose"/> unregisters).</summary>
    internal static bool IsRegistered(string token) => s_launches.ContainsKey(token);

    /// <summary>Binds and serves a new abstract listening socket; returns its name (without the leading NUL).</summary>
    internal static string Listen()
    {
        string name = $"virtualization-core/io/{Environment.ProcessId}/{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}";
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint("\0" + name));
            socket.Listen(512);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        _ = AcceptLoopAsync(socket);
        return name;
    }

    private static async Task AcceptLoopAsync(Socket listener)
    {
        while (true)
        {
            Socket connection;
            try
            {
                connection = await listener.AcceptAsync().ConfigureAwait(false);
            }
            catch (SocketException)
            {
                // EMFILE and the like: the launch waiting for this connection times out and says so.
                await Task.Delay(10).ConfigureAwait(false);
                continue;
            }

            _ = DispatchAsync(connection);
        }
    }

    private static async Task DispatchAsync(Socket connection)
    {
        try
        {
            byte[] header = new byte[HeaderLength];
            using (var timeout = new CancellationTokenSource(s_headerTimeout))
            {
                int read = 0;
                while (read < HeaderLength)
                {
                    int n = await connection.ReceiveAsync(header.AsMemory(read), SocketFlags.None, timeout.Token).ConfigureAwait(false);
                    if (n == 0)
                    {
                        connection.Dispose();
                        return;
                    }

                    read += n;
                }
            }

            string token = Encoding.ASCII.GetString(header, 1, HeaderLength - 1);
            if ((header[0] is (byte)'E' or (byte)'O') && s_launches.TryGetValue(token, out Launch? launch)
                && launch.Offer(header[0] == (byte)'O', connection, PeerPid(connection)))
            {
                return;
            }
        }
#pragma warning disable CA1031 // A bad or slow connection is dropped; its launch (if any) times out and reports it.
        catch (Exception)
#pragma warning restore CA1031
        {
        }

        connection.Dispose();
    }

    private static int PeerPid(Socket socket)
    {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; } from getsockopt(SOL_SOCKET, SO_PEERCRED).
        Span<byte> credentials = stackalloc byte[12];
        int length = socket.GetRawSocketOption(1, 17, credentials);
        // Stryker disable once Conditional,Equality : SO_PEERCRED on a Unix stream socket always returns the whole 12-byte ucred.
        return length >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(credentials) : -1;
    }

    /// <summary>One VMM launch waiting for its helper's connections.</summary>
    internal sealed class Launch : IDisposable
    {
        private readonly Lock _gate = new();
        private readonly List<(bool Console, Socket Socket, int Pid)> _offered = [];
        private TaskCompletionSource _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private bool _closed;

        internal Launch(string token) => Token = token;

        /// <summary>The launch's token (32 hex digits).</summary>
        internal string Token { get; }

        /// <summary>Waits for the connection of <paramref name="pid"/> of the given kind; others (impostors) are closed.</summary>
        /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired first.</exception>
        internal async Task<Socket> WaitForAsync(bool console, int pid, Task giveUp, CancellationToken cancellationToken)
        {
            while (true)
            {
                Task arrived;
                lock (_gate)
                {
                    ObjectDisposedException.ThrowIf(_closed, this);
                    for (int i = 0; i < _offered.Count; i++)
                    {
                        (bool kind, Socket socket, int peer) = _offered[i];
                        if (peer != pid)
                        {
                            socket.Dispose();
                            _offered.RemoveAt(i--);
                        }
                        else if (kind == console)
                        {
                            _offered.RemoveAt(i);
                            return socket;
                        }
                    }

                    if (_arrived.Task.IsCompleted)
                    {
                        _arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    }

                    arrived = _arrived.Task;
                }

                await Task.WhenAny(arrived, giveUp).WaitAsync(cancellationToken).ConfigureAwait(false);
                if (giveUp.IsCompleted && !arrived.IsCompleted)
                {
                    throw new OperationCanceledException("The helper exited before it connected.");
                }
            }
        }

        /// <summary>Stops accepting connections for this launch and closes those not taken.</summary>
        public void Dispose()
        {
            s_launches.TryRemove(Token, out _);
            lock (_gate)
            {
                _closed = true;
                foreach ((_, Socket socket, _) in _offered)
                {
                    socket.Dispose();
                }

                // Stryker disable once Statement : once closed, the list is never read again (every method checks _closed first).
                _offered.Clear();
            }
        }

        internal bool Offer(bool console, Socket socket, int pid)
        {
            lock (_gate)
            {
                if (_closed || _offered.Count >= 8)
                {
                    return false;
                }

                _offered.Add((console, socket, pid));
                _arrived.TrySetResult();
                return true;
            }
        }
    }
}
