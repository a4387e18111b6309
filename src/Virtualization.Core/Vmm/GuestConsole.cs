using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Virtualization.Core.Vmm;

/// <summary>
/// The host end of one VM's guest console (the VMM's serial port on its stdin/stdout, one socket through
/// <c>vcore-exec</c>): where the output goes (the caller's stream, if any), the <see cref="Lines"/> waits observe, and
/// the input side. Input never involves the VM's lock: writes go straight to the socket, asynchronously, and are
/// abandoned (cancelled) when the VMM exits, so neither a slow guest nor a slow source can hold up the VM or its death.
/// Input can be opened once: its end is an end-of-file to the VMM, which then stops reading for good.
/// </summary>
#pragma warning disable CA1001 // Its CancellationTokenSource has no timer and its SemaphoreSlim no wait handle: nothing to free, and
                              // an abandoned input copy may still link to the token after the VM's death.
internal sealed class GuestConsole
#pragma warning restore CA1001
{
    private const int InputBufferSize = 4096;

    private readonly ILogger _logger;
    private readonly int _cid;
    private readonly CancellationTokenSource _gone = new();
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private Socket? _socket;
    private int _inputTaken;

    /// <summary>Creates the console of VM <paramref name="cid"/>.</summary>
    /// <param name="output">The caller's console stream, or null.</param>
    /// <param name="logger">The VM's logger.</param>
    /// <param name="lineLogger">Receives every console line at Debug (<see cref="ConsoleLog.LineCategory"/>).</param>
    /// <param name="cid">The VM's CID, for messages.</param>
    internal GuestConsole(Stream? output, ILogger logger, ILogger lineLogger, int cid)
    {
        Output = output;
        _logger = logger;
        _cid = cid;
        Lines = new ConsoleLineWatcher(lineLogger, cid);
    }

    /// <summary>The caller's console stream, or null (the console is then only observed).</summary>
    internal Stream? Output { get; }

    /// <summary>The line splitter that console waits observe.</summary>
    internal ConsoleLineWatcher Lines { get; }

    /// <summary>Whether the input was already opened (it can be opened once).</summary>
    internal bool InputTaken => Volatile.Read(ref _inputTaken) != 0;

    /// <summary>Connects the input side to the VMM's console socket (called once the VMM is launched).</summary>
    internal void Connect(Socket socket) => Volatile.Write(ref _socket, socket);

    /// <summary>The VMM has exited: pending and later input writes are abandoned.</summary>
    internal void Disconnect()
    {
        try
        {
            _gone.Cancel();
        }
        catch (AggregateException)
        {
            // A registration threw; nothing of ours registers anything that does.
        }
    }

    /// <summary>Takes the input side; null when it was already taken.</summary>
    internal Stream? TakeInput() =>
        Interlocked.Exchange(ref _inputTaken, 1) == 0 ? new ConsoleInputStream(this) : null;

    /// <summary>
    /// Copies <paramref name="source"/> into the guest console until its end (then the VMM sees end-of-file), the VMM's
    /// exit, or <paramref name="cancellationToken"/>. A read that stalls is abandoned (not awaited) when the VMM exits;
    /// its buffer is private to this copy, so an abandoned read cannot write into memory in use elsewhere.
    /// </summary>
    internal async Task CopyFromAsync(Stream source, Stream input, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _gone.Token);
        byte[] buffer = new byte[InputBufferSize];
        await using (input.ConfigureAwait(false))
        {
            while (true)
            {
                int read;
                Task<int> pending = source.ReadAsync(buffer, stop.Token).AsTask();
                try
                {
                    read = await pending.WaitAsync(stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (_gone.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    Abandon(pending);
                    return; // The VM is gone: nothing more to copy.
                }
                catch (OperationCanceledException)
                {
                    Abandon(pending);
                    throw;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    ConsoleLog.ConsoleInputSourceFailed(_logger, e);
                    throw;
                }

                if (read == 0)
                {
                    return;
                }

                try
                {
                    // The caller's token, not the copy's: WriteAsync links the VMM's exit itself and turns it into the
                    // IOException below (with the copy's token, an exit while data was at hand escaped as a cancellation).
                    await WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                }
                catch (IOException) when (_gone.IsCancellationRequested)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Writes input bytes to the VMM; throws <see cref="IOException"/> once it has exited.</summary>
    internal async ValueTask WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _gone.Token);
        try
        {
            await _writeLock.WaitAsync(stop.Token).ConfigureAwait(false);
            try
            {
                Socket socket = Volatile.Read(ref _socket) ?? throw Gone(null);
                while (!bytes.IsEmpty)
                {
                    int sent = await socket.SendAsync(bytes, SocketFlags.None, stop.Token).ConfigureAwait(false);
                    bytes = bytes[sent..];
                }
            }
            finally
            {
                _writeLock.Release();
            }
        }
        catch (OperationCanceledException e) when (_gone.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw Gone(e);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            throw Gone(e);
        }
    }

    /// <summary>Writes input bytes to the VMM, blocking the caller; throws <see cref="IOException"/> once it has exited.</summary>
    internal void Write(ReadOnlySpan<byte> bytes)
    {
        try
        {
            _writeLock.Wait(_gone.Token);
            try
            {
                Socket socket = Volatile.Read(ref _socket) ?? throw Gone(null);
                while (!bytes.IsEmpty)
                {
                    bytes = bytes[socket.Send(bytes, SocketFlags.None)..];
                }
            }
            finally
            {
                _writeLock.Release();
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            throw Gone(e);
        }
    }

    /// <summary>Ends the input: the VMM reads end-of-file (the VM keeps running).</summary>
    internal void EndInput()
    {
        if (_gone.IsCancellationRequested || Volatile.Read(ref _socket) is not { } socket)
        {
            return;
        }

        try
        {
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The VMM is gone already.
        }
    }

    /// <summary>A read no one waits for any more: its eventual failure is observed here, not raised as unobserved.</summary>
    private static void Abandon(Task<int> read) =>
        _ = read.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);

    private IOException Gone(Exception? inner) =>
        new($"The VMM of CID {_cid} has exited; the guest console takes no more input.", inner);
}
