using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Virtualization.Core.Vsock;

namespace Virtualization.Core.Tests.Vsock;

internal static class VsockTestSupport
{
    /// <summary>A short directory for unix socket paths (sun_path holds 107 bytes).</summary>
    public static string NewSocketDirectory()
    {
        string dir = Path.Combine("/tmp", "vsk-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    public static bool VsockAvailable(out string reason)
    {
        if (!File.Exists("/dev/vsock"))
        {
            reason = "/dev/vsock is absent: the vsock core module is not loaded on this machine";
            return false;
        }

        try
        {
            using Socket probe = NativeSockets.Create(NativeAddress.ForVsock(new VsockEndPoint(VsockEndPoint.Any, VsockEndPoint.AnyPort)));
            reason = "";
            return true;
        }
        catch (VsockException ex)
        {
            reason = "AF_VSOCK sockets cannot be created here: " + ex.Message;
            return false;
        }
    }

    /// <summary>
    /// This process's descriptors of the kinds the socket layer can create (sockets, /dev/vsock, and the engine's
    /// epoll/eventfd/pipes), as "fd->target". Files are left out: the runtime maps assemblies lazily.
    /// </summary>
    public static string[] ListOpenFds() => Directory.GetFileSystemEntries("/proc/self/fd")
        .Select(f => (Fd: Path.GetFileName(f), Target: new FileInfo(f).LinkTarget ?? "?"))
        .Where(e => e.Target.StartsWith("socket:", StringComparison.Ordinal)
                    || e.Target.StartsWith("anon_inode:", StringComparison.Ordinal)
                    || e.Target.StartsWith("pipe:", StringComparison.Ordinal)
                    || e.Target == "/dev/vsock")
        .Select(e => $"{e.Fd}->{e.Target}")
        .ToArray();

    /// <summary>The <c>flags:</c> line of <c>/proc/self/fdinfo/FD</c> (octal).</summary>
    public static int FdFlags(SafeHandle handle)
    {
        bool added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            int fd = (int)handle.DangerousGetHandle();
            string line = File.ReadLines($"/proc/self/fdinfo/{fd}").First(l => l.StartsWith("flags:", StringComparison.Ordinal));
            return Convert.ToInt32(line["flags:".Length..].Trim(), 8);
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    public const int O_CLOEXEC = 0x80000; // 02000000

    /// <summary>Cancels <paramref name="cts"/> and returns what <paramref name="task"/> then ended with (null: it succeeded).</summary>
    public static async Task<Exception?> CancelAndCatchAsync(Task task, CancellationTokenSource cts)
    {
        await cts.CancelAsync();
        try
        {
            await task;
            return null;
        }
        catch (Exception ex)
        {
            return ex;
        }
    }

    /// <summary>
    /// A loopback TCP listener whose accept queue is full, so the next connect stays pending (SYN dropped):
    /// AF_UNIX connects never pend on a non-blocking socket (they fail with EAGAIN), so tests of connect
    /// cancellation and timeout use this, through the same native socket layer. Nothing leaves the machine.
    /// </summary>
    public sealed class FullBacklogTcpTarget : IAsyncDisposable
    {
        private readonly NativeListener _listener;
        private readonly List<Stream> _clients = [];

        private FullBacklogTcpTarget(NativeListener listener, NativeAddress address, VsockException probeTimeout)
        {
            _listener = listener;
            Address = address;
            ProbeTimeout = probeTimeout;
        }

        public NativeAddress Address { get; }

        /// <summary>The exception of the connect attempt that showed the queue is full.</summary>
        public VsockException ProbeTimeout { get; }

        public static readonly TimeSpan ProbeTimeoutValue = TimeSpan.FromMilliseconds(250);

        public static async Task<FullBacklogTcpTarget> CreateAsync()
        {
            NativeListener listener = NativeListener.Start(NativeAddress.ForIp(new IPEndPoint(IPAddress.Loopback, 0)), backlog: 1);
            var bound = (IPEndPoint)NativeAddress.ForIp(new IPEndPoint(IPAddress.Loopback, 0)).Decode(listener.LocalSockAddr);
            NativeAddress address = NativeAddress.ForIp(bound);
            var clients = new List<Stream>();
            for (int i = 0; i < 16; i++)
            {
                try
                {
                    clients.Add(await NativeSockets.ConnectAsync(address, ProbeTimeoutValue, CancellationToken.None));
                }
                catch (VsockException ex) when (ex.Errno == 110)
                {
                    var target = new FullBacklogTcpTarget(listener, address, ex);
                    target._clients.AddRange(clients);
                    return target;
                }
            }

            throw new InvalidOperationException("The loopback accept queue never filled up.");
        }

        public async ValueTask DisposeAsync()
        {
            foreach (Stream client in _clients)
            {
                await client.DisposeAsync();
            }

            await _listener.DisposeAsync();
        }
    }
}
