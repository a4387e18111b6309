using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace FakeCrosvm.Vm;

/// <summary>
/// Produces the fake guest console output on a background thread: <c>console_lines</c> lines, then
/// <c>console_bytes</c> bytes of filler, to every console target, flushing after each line (or chunk).
/// A reader that stops draining stdout blocks this thread only, as crosvm's vCPU would block.
/// </summary>
internal sealed class ConsoleOutput
{
    private const int LineLength = 64;
    private const int ChunkBytes = 64 * 1024;
    private readonly IReadOnlyList<ConsoleTarget> _targets;
    private readonly int _lines;
    private readonly long _bytes;

    public ConsoleOutput(IReadOnlyList<ConsoleTarget> targets, int lines, long bytes)
    {
        _targets = targets;
        _lines = lines;
        _bytes = bytes;
    }

    /// <summary>
    /// Starts writing to every target; the task completes once the guest's output on its stream consoles (stdout, a
    /// file) is written, or the reader went away. Like a vCPU on a full serial FIFO, that write blocks for as long as
    /// nobody reads stdout. (A datagram console never holds the guest back: crosvm drops what it cannot send.)
    /// </summary>
    public Task Start()
    {
        var written = new List<Task>();
        foreach (ConsoleTarget target in _targets)
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var thread = new Thread(() =>
            {
                try
                {
                    Produce(target);
                }
                finally
                {
                    done.TrySetResult();
                }
            })
            { IsBackground = true, Name = $"console-{target.Kind}" };
            thread.Start();
            if (target.Kind != ConsoleTargetKind.UnixDatagram)
            {
                written.Add(done.Task);
            }
        }

        return Task.WhenAll(written);
    }

    private void Produce(ConsoleTarget target)
    {
        try
        {
            switch (target.Kind)
            {
                case ConsoleTargetKind.Stdout:
                    using (Stream stdout = GuestStdout.Open())
                    {
                        WriteToStream(stdout);
                    }

                    break;
                case ConsoleTargetKind.File:
                    using (var file = new FileStream(target.Path!, FileMode.Append, FileAccess.Write, FileShare.ReadWrite))
                    {
                        WriteToStream(file);
                    }

                    break;
                case ConsoleTargetKind.UnixDatagram:
                    WriteToUnixDatagram(target.Path!);
                    break;
                default:
                    break;
            }
        }
        catch (Exception e) when (e is IOException or SocketException or UnauthorizedAccessException or ObjectDisposedException)
        {
            // The reader went away (EPIPE) or the target cannot be written: the guest just keeps running.
        }
    }

    private void WriteToStream(Stream stream)
    {
        for (int i = 1; i <= _lines; i++)
        {
            stream.Write(Encoding.ASCII.GetBytes(Line(i)));
            stream.Flush();
        }

        byte[] chunk = FillerChunk();
        long remaining = _bytes;
        while (remaining > 0)
        {
            int count = (int)Math.Min(remaining, chunk.Length);
            stream.Write(chunk, 0, count);
            stream.Flush();
            remaining -= count;
        }
    }

    private void WriteToUnixDatagram(string path)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        var endpoint = new UnixDomainSocketEndPoint(path);
        while (true)
        {
            try
            {
                socket.Connect(endpoint);
                break;
            }
            catch (SocketException)
            {
                Thread.Sleep(10); // crosvm retries every 10 ms, forever
            }
        }

        for (int i = 1; i <= _lines; i++)
        {
            socket.Send(Encoding.ASCII.GetBytes(Line(i)));
        }

        byte[] chunk = FillerChunk();
        for (long sent = 0; sent < _bytes; sent += LineLength)
        {
            int count = (int)Math.Min(_bytes - sent, LineLength);
            socket.Send(chunk.AsSpan(0, count));
        }
    }

    private static string Line(int index) => string.Create(CultureInfo.InvariantCulture, $"fake guest console line {index}\n");

    /// <summary>64-byte lines of printable filler, each ending in a newline.</summary>
    private static byte[] FillerChunk()
    {
        const string alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        byte[] chunk = new byte[ChunkBytes];
        for (int i = 0; i < chunk.Length; i++)
        {
            chunk[i] = i % LineLength == LineLength - 1 ? (byte)'\n' : (byte)alphabet[i % LineLength % alphabet.Length];
        }

        return chunk;
    }
}
