using System.Text;
using Microsoft.Extensions.Logging;

namespace Virtualization.Core.Vmm;

/// <summary>
/// Splits the guest console into lines and completes the waits of <see cref="IVirtualMachine.WaitForConsoleLineAsync(string, TimeSpan, CancellationToken)"/>.
/// Memory is bounded: a line is cut at <see cref="MaxLineBytes"/> (the rest, up to the next newline, is dropped) and only
/// the most recent lines, <see cref="HistoryChars"/> characters in all, are kept for waits that begin later. Matchers
/// (user code) never run under the watcher's lock.
/// </summary>
internal sealed class ConsoleLineWatcher
{
    /// <summary>The longest line kept; longer ones are cut here.</summary>
    internal const int MaxLineBytes = 4096;

    /// <summary>How many characters of recent lines are kept for waits that begin after the line was printed.</summary>
    internal const int HistoryChars = 16 * 1024;

    private readonly Lock _gate = new();
    private readonly Queue<string> _history = new();
    private readonly List<LineWaiter> _waiters = [];
    private readonly ILogger _lineLogger;
    private readonly int _cid;
    private byte[]? _partial;
    private int _partialLength;
    private bool _skippingRestOfLine;
    private int _historyLength;
    private Func<string, Exception>? _ended;

    internal ConsoleLineWatcher(ILogger lineLogger, int cid)
    {
        _lineLogger = lineLogger;
        _cid = cid;
    }

    /// <summary>The number of lines kept for later waits (tests check the bound).</summary>
    internal int HistoryCount
    {
        get
        {
            lock (_gate)
            {
                return _history.Count;
            }
        }
    }

    /// <summary>The waits registered for lines to come (tests check that ended waits are removed).</summary>
    internal int WaiterCount
    {
        get
        {
            lock (_gate)
            {
                return _waiters.Count;
            }
        }
    }

    /// <summary>The bytes held for the current unfinished line (tests check the bound).</summary>
    internal int PartialLength => Volatile.Read(ref _partialLength);

    /// <summary>Feeds console bytes, in order (one caller at a time: the console pump).</summary>
    internal void Observe(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            int newline = bytes.IndexOf((byte)'\n');
            ReadOnlySpan<byte> piece = newline < 0 ? bytes : bytes[..newline];
            if (!_skippingRestOfLine)
            {
                _partial ??= new byte[MaxLineBytes];
                int take = Math.Min(piece.Length, MaxLineBytes - _partialLength);
                piece[..take].CopyTo(_partial.AsSpan(_partialLength));
                Volatile.Write(ref _partialLength, _partialLength + take);
                if (take < piece.Length)
                {
                    // Too long: what fits is a line of its own; the rest of it is dropped.
                    EmitPartial();
                    _skippingRestOfLine = true;
                }
            }

            if (newline < 0)
            {
                return;
            }

            if (_skippingRestOfLine)
            {
                _skippingRestOfLine = false;
            }
            else
            {
                EmitPartial();
            }

            bytes = bytes[(newline + 1)..];
        }
    }

    /// <summary>The console ended: a last line without a newline still counts.</summary>
    internal void Complete()
    {
        if (_partialLength > 0 && !_skippingRestOfLine)
        {
            EmitPartial();
        }
    }

    /// <summary>
    /// Ends every wait, present and future, that no line satisfied with the exception <paramref name="failure"/>
    /// makes from the wait's description (the VM died). Lines seen before still satisfy waits that begin later.
    /// </summary>
    internal void End(Func<string, Exception> failure)
    {
        LineWaiter[] waiters;
        lock (_gate)
        {
            if (_ended is not null)
            {
                return;
            }

            _ended = failure;
            waiters = [.. _waiters];
            _waiters.Clear();
        }

        foreach (LineWaiter waiter in waiters)
        {
            waiter.Completion.TrySetException(failure(waiter.Description));
        }
    }

    /// <summary>Waits for a line that <paramref name="match"/> accepts, among the recent lines and those to come.</summary>
    internal async Task<string> WaitAsync(Func<string, bool> match, string description, TimeSpan timeout, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var waiter = new LineWaiter(match, description);
        string[] recent;
        Func<string, Exception>? ended;
        lock (_gate)
        {
            recent = [.. _history];
            ended = _ended;
            if (ended is null)
            {
                _waiters.Add(waiter);
            }
        }

        try
        {
            // Inside the try: a matcher that throws on a recent line must not leave its wait registered.
            foreach (string line in recent)
            {
                if (match(line))
                {
                    return line;
                }
            }

            if (ended is not null)
            {
                throw ended(description);
            }

            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            if (timeout != Timeout.InfiniteTimeSpan)
            {
                limit.CancelAfter(timeout);
            }

            try
            {
                return await waiter.Completion.Task.WaitAsync(limit.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && !waiter.Completion.Task.IsCompleted)
            {
                throw new TimeoutException(
                    $"No console line of VM with CID {_cid} matched {description} within {timeout.TotalSeconds:0.###} s; the VM is still running. "
                    + "Check the console output, or wait longer.");
            }
        }
        finally
        {
            Remove(waiter);
        }
    }

    private void Remove(LineWaiter waiter)
    {
        lock (_gate)
        {
            _waiters.Remove(waiter);
        }
    }

    private void EmitPartial()
    {
        string line = Encoding.UTF8.GetString(_partial.AsSpan(0, _partialLength)).TrimEnd('\r');
        Volatile.Write(ref _partialLength, 0);
        ConsoleLog.ConsoleLine(_lineLogger, line);
        LineWaiter[] waiters;
        lock (_gate)
        {
            _history.Enqueue(line);
            _historyLength += line.Length;
            while (_historyLength > HistoryChars && _history.Count > 1)
            {
                _historyLength -= _history.Dequeue().Length;
            }

            if (_waiters.Count == 0)
            {
                return;
            }

            waiters = [.. _waiters];
        }

        foreach (LineWaiter waiter in waiters)
        {
            bool matched;
            try
            {
                matched = waiter.Match(line);
            }
#pragma warning disable CA1031 // A matcher that throws (a regex timeout) fails its own wait, not the console.
            catch (Exception e)
#pragma warning restore CA1031
            {
                waiter.Completion.TrySetException(e);
                continue;
            }

            if (matched)
            {
                waiter.Completion.TrySetResult(line);
            }
        }
    }

    /// <summary>One wait for a console line.</summary>
    private sealed class LineWaiter(Func<string, bool> match, string description)
    {
        public Func<string, bool> Match { get; } = match;

        public string Description { get; } = description;

        public TaskCompletionSource<string> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
