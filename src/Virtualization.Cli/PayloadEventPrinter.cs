using Virtualization.Core;

namespace Virtualization.Cli;

/// <summary>
/// Prints a VM's payload events the way Android's <c>vm run</c> does: payload output copied to stdout line by line (on
/// its own task, so a slow reader never holds up later callbacks), <c>payload is ready</c>,
/// <c>payload finished with exit code N</c> and <c>VM error N: message</c> on stderr (nothing for <c>started</c>, as in
/// Android). Remembers the payload's exit code for the tool's own.
/// </summary>
internal sealed class PayloadEventPrinter : IVirtualMachineCallback
{
    private readonly TextWriter _out;
    private readonly TextWriter _err;
    private readonly Lock _gate = new();
    private readonly List<Task> _copies = [];
    private volatile bool _failed;
    private int? _exitCode;

    /// <summary>Creates the printer.</summary>
    /// <param name="stdout">Where payload output goes (must be thread-safe).</param>
    /// <param name="stderr">Where events go (must be thread-safe).</param>
    public PayloadEventPrinter(TextWriter stdout, TextWriter stderr)
    {
        _out = stdout;
        _err = stderr;
    }

    /// <summary>The payload's exit code once it reported one; <see langword="null"/> before, or if it reported an error instead.</summary>
    public int? PayloadExitCode
    {
        get
        {
            lock (_gate)
            {
                return _exitCode;
            }
        }
    }

    /// <summary>Whether the payload reported an error.</summary>
    public bool PayloadFailed => _failed;

    /// <inheritdoc/>
    public void OnPayloadStarted(int cid, Stream? stream)
    {
        if (stream is null)
        {
            return;
        }

        lock (_gate)
        {
            _copies.Add(Task.Run(() => CopyLinesAsync(stream)));
        }
    }

    /// <inheritdoc/>
    public void OnPayloadReady(int cid) => _err.WriteLine("payload is ready");

    /// <inheritdoc/>
    public void OnPayloadFinished(int cid, int exitCode)
    {
        lock (_gate)
        {
            _exitCode = exitCode;
        }

        _err.WriteLine($"payload finished with exit code {exitCode}");
    }

    /// <inheritdoc/>
    public void OnError(int cid, int errorCode, string message)
    {
        _failed = true;
        _err.WriteLine($"VM error {errorCode}: {message}");
    }

    /// <summary>Waits (at most <paramref name="timeout"/>) until the payload output has been copied.</summary>
    public async Task DrainAsync(TimeSpan timeout)
    {
        Task[] copies;
        lock (_gate)
        {
            copies = [.. _copies];
        }

        await Task.WhenAny(Task.WhenAll(copies), Task.Delay(timeout)).ConfigureAwait(false);
    }

    private async Task CopyLinesAsync(Stream stream)
    {
        try
        {
            using var reader = new StreamReader(stream);
            while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                await _out.WriteLineAsync(line).ConfigureAwait(false);
            }
        }
        catch (IOException)
        {
            // The connection went away with the VM.
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
