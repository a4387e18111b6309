using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Virtualization.Core.Payload;

/// <summary>
/// The host end of one VM's payload channel: listens before the VMM is launched (serial: Unix sockets in the VM's
/// folder that the VMM connects to; vsock: port = CID, accepting only the VM's own CID), runs the lifecycle channel,
/// holds the stdio stream until a callback takes it, and shuts everything down when the VM dies. Everything it reads
/// goes to the one VM that created it; nothing here can reach another VM.
/// </summary>
internal sealed class PayloadHost : IPayloadReportSink, IAsyncDisposable
{
    /// <summary>How long a <c>started</c> report waits for the stdio connection (vsock connects it separately).</summary>
    internal static readonly TimeSpan StdioWait = TimeSpan.FromSeconds(2);

    /// <summary>How long a vsock connection may take to send its hello before it is closed.</summary>
    internal static readonly TimeSpan HelloTimeout = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan LoopStopTimeout = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private readonly int _cid;
    private readonly PayloadChannelOptions _options;
    private readonly string _folder;
    private readonly ILogger _logger;
    private readonly Func<PayloadReport, Stream?, string?> _apply;
    private readonly Func<uint, IPayloadAcceptor> _acceptorFactory;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource<Stream> _stdio = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _controlEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<IDisposable> _resources = [];
    private readonly List<Task> _loops = [];
    private Stream? _stdioStream;
    private Socket? _serialControlListener;
    private bool _controlAttached;
    private bool _stdioOffered;
    private volatile bool _stdioDelivered;
    private bool _disposed;

    /// <summary>Creates the host end; nothing is bound until <see cref="Listen"/>.</summary>
    /// <param name="cid">The VM's CID (also its vsock port).</param>
    /// <param name="options">The VM's payload options.</param>
    /// <param name="folder">The VM's private folder (serial sockets go here).</param>
    /// <param name="logger">The VM's logger.</param>
    /// <param name="apply">Applies a report to the VM (under its lock); returns why it was ignored, or null.</param>
    /// <param name="acceptorFactory">Binds the vsock port; tests pass their own.</param>
    public PayloadHost(
        int cid,
        PayloadChannelOptions options,
        string folder,
        ILogger logger,
        Func<PayloadReport, Stream?, string?> apply,
        Func<uint, IPayloadAcceptor>? acceptorFactory = null)
    {
        _cid = cid;
        _options = options;
        _folder = folder;
        _logger = logger;
        _apply = apply;
        _acceptorFactory = acceptorFactory ?? (port => VsockPayloadAcceptor.Start(port));
    }

    /// <summary>Whether the stdio stream was handed to a callback (which then owns it).</summary>
    public bool StdioDelivered => _stdioDelivered;

    /// <summary>Binds the transport and starts accepting. Called before the VMM is launched, which connects at startup.</summary>
    /// <exception cref="VirtualMachineStartException">The socket could not be bound.</exception>
    public void Listen()
    {
        if (_options.Transport == PayloadTransport.Vsock)
        {
            IPayloadAcceptor acceptor;
            try
            {
                acceptor = _acceptorFactory((uint)_cid);
            }
            catch (VsockException e)
            {
                throw new VirtualMachineStartException(
                    $"The payload channel cannot listen on vsock port {_cid}: {e.Message} Use PayloadTransport.Serial on hosts without vsock.",
                    null,
                    string.Empty,
                    e);
            }

            Track(acceptor);
            AddLoop(AcceptVsockAsync(acceptor));
            return;
        }

        Socket control = BindUnix(PayloadSockets.ControlPath(_folder));
        Track(control);
        _serialControlListener = control;
        AddLoop(AcceptSerialAsync(control, "serial port " + PayloadSockets.ControlName, isControl: true));
        if (_options.Stdio)
        {
            Socket stdio = BindUnix(PayloadSockets.StdioPath(_folder));
            Track(stdio);
            AddLoop(AcceptSerialAsync(stdio, "serial port " + PayloadSockets.StdioName, isControl: false));
        }
    }

    /// <inheritdoc/>
    public async ValueTask<string?> ReportAsync(PayloadReport report, CancellationToken cancellationToken)
    {
        Stream? stdio = null;
        if (report.Kind == PayloadReportKind.Started && _options.Stdio && !_stdioOffered)
        {
            _stdioOffered = true;
            try
            {
                stdio = await _stdio.Task.WaitAsync(StdioWait, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                PayloadLog.StdioMissing(_logger, StdioWait);
            }
        }

        return _apply(report, stdio);
    }

    /// <summary>Called right before a callback receives the stdio stream: from then on the callback owns it.</summary>
    public void MarkStdioDelivered() => _stdioDelivered = true;

    /// <summary>
    /// After the VMM exited: lets the lifecycle channel read what the guest sent before it went away (the connection
    /// ends when the VMM's end closes), for at most <paramref name="timeout"/>. Never throws.
    /// </summary>
    public async Task DrainAsync(TimeSpan timeout)
    {
        bool attached;
        lock (_gate)
        {
            attached = _controlAttached;
        }

        // A VMM that connected and wrote its reports just before it exited may still sit in the listener's backlog,
        // not yet accepted (a loaded host): its bytes are in the connection, so wait for the accept too (the control
        // loop, which ends the channel, starts only once the connection is attached).
        if (!attached && !SerialControlConnectionPending())
        {
            return;
        }

        Task ended = _controlEnded.Task;
        if (await Task.WhenAny(ended, Task.Delay(timeout)).ConfigureAwait(false) != ended)
        {
            PayloadLog.DrainTimedOut(_logger, timeout);
        }
    }

    // Whether the serial lifecycle listener has a connection waiting for accept (readable listener), or has already
    // accepted one that is being attached (the accept loop closes the listener after its one connection).
    private bool SerialControlConnectionPending()
    {
        if (_serialControlListener is not { } listener)
        {
            return false;
        }

        try
        {
            return listener.Poll(0, SelectMode.SelectRead);
        }
        catch (ObjectDisposedException)
        {
            return !_stop.IsCancellationRequested;
        }
    }

    /// <summary>Stops listening and reading, closes every connection except a stdio stream a callback took. Never throws.</summary>
    public async ValueTask DisposeAsync()
    {
        IDisposable[] resources;
        Task[] loops;
        Stream? stdio;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            resources = [.. _resources];
            _resources.Clear();
            loops = [.. _loops];
            stdio = _stdioStream;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        foreach (IDisposable resource in resources)
        {
            DisposeQuietly(resource);
        }

        if (stdio is not null && !_stdioDelivered)
        {
            DisposeQuietly(stdio);
        }

        try
        {
            await Task.WhenAll(loops).WaitAsync(LoopStopTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // The loops end on cancellation; a stuck one holds nothing that matters any more.
        }

        // _stop is not disposed: a loop that is still finishing may read its token (it owns no timer, so nothing leaks).
    }

    private static Socket BindUnix(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            File.Delete(path);
            socket.Bind(new UnixDomainSocketEndPoint(path));
            socket.Listen(1);
            return socket;
        }
        catch (Exception e) when (e is SocketException or IOException or UnauthorizedAccessException)
        {
            socket.Dispose();
            throw new VirtualMachineStartException(
                $"The payload channel cannot listen on {path}: {e.Message}. Check that the VM folder is writable and the path is under 108 bytes.",
                null,
                string.Empty,
                e);
        }
    }

    private static void DisposeQuietly(IDisposable resource)
    {
        try
        {
            resource.Dispose();
        }
#pragma warning disable CA1031 // Closing a socket of a dead VM must not fail the death path.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    /// <summary>The VMM connects to each serial socket once, at startup; the listener is closed after that one connection.</summary>
    private async Task AcceptSerialAsync(Socket listener, string name, bool isControl)
    {
        Socket connection;
        try
        {
            connection = await listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException || _stop.IsCancellationRequested)
        {
            return;
        }
#pragma warning disable CA1031 // An accept failure only means this VM has no payload channel; it is logged.
        catch (Exception e)
#pragma warning restore CA1031
        {
            PayloadLog.AcceptFailed(_logger, name, e);
            return;
        }
        finally
        {
            Untrack(listener);
            DisposeQuietly(listener);
        }

        var stream = new NetworkStream(connection, ownsSocket: true);
        if (isControl)
        {
            AttachControl(stream, new PayloadChannel(stream, this, _logger, name), expectHello: true, name);
        }
        else
        {
            AttachStdio(stream, name);
        }
    }

    /// <summary>Accepts vsock connections: only the VM's own CID; each then names its kind in its hello.</summary>
    private async Task AcceptVsockAsync(IPayloadAcceptor acceptor)
    {
        while (true)
        {
            PayloadConnection connection;
            try
            {
                connection = await acceptor.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException || _stop.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // An accept failure only means this VM has no payload channel; it is logged.
            catch (Exception e)
#pragma warning restore CA1031
            {
                PayloadLog.AcceptFailed(_logger, acceptor.Description, e);
                return;
            }

            if (connection.PeerCid != (uint)_cid)
            {
                // Never read a byte from another VM: the connection is closed unread.
                PayloadLog.ForeignPeerRefused(_logger, acceptor.Description, connection.Peer);
                DisposeQuietly(connection.Stream);
                continue;
            }

            AddLoop(HandleVsockConnectionAsync(connection, $"{acceptor.Description} from {connection.Peer}"));
        }
    }

    private async Task HandleVsockConnectionAsync(PayloadConnection connection, string name)
    {
        var channel = new PayloadChannel(connection.Stream, this, _logger, name);
        PayloadChannelEnd? end;
        PayloadChannelKind kind;
        using (var hello = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token))
        {
            hello.CancelAfter(HelloTimeout);
            try
            {
                (end, kind) = await channel.ReadHelloAsync(hello.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                if (!_stop.IsCancellationRequested)
                {
                    PayloadLog.ExtraConnectionClosed(_logger, name, $"no hello within {HelloTimeout.TotalSeconds:0} s");
                }

                DisposeQuietly(connection.Stream);
                return;
            }
        }

        if (end is not null)
        {
            DisposeQuietly(connection.Stream);
        }
        else if (kind == PayloadChannelKind.Control)
        {
            AttachControl(connection.Stream, channel, expectHello: false, name);
        }
        else
        {
            AttachStdio(connection.Stream, name);
        }
    }

    private void AttachControl(Stream stream, PayloadChannel channel, bool expectHello, string name)
    {
        lock (_gate)
        {
            if (!_disposed && !_controlAttached)
            {
                _controlAttached = true;
                _resources.Add(stream);
                _loops.Add(RunControlAsync(channel, stream, expectHello));
                return;
            }
        }

        PayloadLog.ExtraConnectionClosed(_logger, name, "a lifecycle channel is already connected");
        DisposeQuietly(stream);
    }

    private async Task RunControlAsync(PayloadChannel channel, Stream stream, bool expectHello)
    {
        await Task.Yield(); // Never run the read loop on the accepting thread.
        await channel.RunAsync(expectHello, _stop.Token).ConfigureAwait(false);
        DisposeQuietly(stream); // Refused, ended or stopped: this connection carries nothing more.
        _controlEnded.TrySetResult();
    }

    private void AttachStdio(Stream stream, string name)
    {
        lock (_gate)
        {
            if (!_disposed && _stdioStream is null && _options.Stdio)
            {
                _stdioStream = stream;
                _stdio.TrySetResult(stream);
                return;
            }
        }

        PayloadLog.ExtraConnectionClosed(_logger, name, _options.Stdio ? "a stdio stream is already connected" : "this VM has no stdio port (PayloadChannelOptions.Stdio is false)");
        DisposeQuietly(stream);
    }

    private void Track(IDisposable resource)
    {
        lock (_gate)
        {
            _resources.Add(resource);
        }
    }

    private void Untrack(IDisposable resource)
    {
        lock (_gate)
        {
            _resources.Remove(resource);
        }
    }

    private void AddLoop(Task loop)
    {
        lock (_gate)
        {
            _loops.Add(loop);
        }
    }
}
