using System.Globalization;
using System.Text;

namespace FakeCrosvm.Vm;

/// <summary>
/// The fake guest's run state as the control socket changes it: suspended or running (the console ticks and echo only
/// write while running; a write in progress finishes before a suspend is confirmed), and the balloon's size.
/// </summary>
internal sealed class FakeGuest
{
    private readonly object _gate = new();
    private readonly Stream? _stdout;
    private readonly TaskCompletionSource _poweredOff = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _suspended;
    private long _balloonBytes;

    public FakeGuest(long memoryMib, bool hasBalloon, bool consoleOnStdout)
    {
        MemoryBytes = memoryMib * 1024 * 1024;
        HasBalloon = hasBalloon;
        _stdout = consoleOnStdout ? GuestStdout.Open() : null;
    }

    public long MemoryBytes { get; }

    public bool HasBalloon { get; }

    public long BalloonBytes => Interlocked.Read(ref _balloonBytes);

    /// <summary>Completes when the guest powered itself off (a <c>poweroff</c> line on the echo console).</summary>
    public Task PoweredOff => _poweredOff.Task;

    public void Suspend()
    {
        lock (_gate)
        {
            _suspended = true;
        }
    }

    public void Resume()
    {
        lock (_gate)
        {
            _suspended = false;
            Monitor.PulseAll(_gate);
        }
    }

    public void SetBalloon(long bytes) => Interlocked.Exchange(ref _balloonBytes, bytes);

    /// <summary>The stats crosvm's balloon_stats prints, as a guest driver would report them.</summary>
    public string StatsJson()
    {
        long total = MemoryBytes - BalloonBytes;
        return string.Create(
            CultureInfo.InvariantCulture,
            $"{{\"BalloonStats\":{{\"stats\":{{\"swap_in\":0,\"swap_out\":0,\"major_faults\":7,\"minor_faults\":1234,\"free_memory\":{total / 2},\"total_memory\":{total},\"available_memory\":{total * 3 / 4},\"disk_caches\":1048576,\"hugetlb_allocations\":null,\"hugetlb_failures\":null,\"shared_memory\":null,\"unevictable_memory\":null}},\"balloon_actual\":{BalloonBytes}}}}}");
    }

    /// <summary>Writes a console line, waiting while the guest is suspended (its vCPUs would not run).</summary>
    public void WriteLine(string line)
    {
        if (_stdout is null)
        {
            return;
        }

        byte[] bytes = Encoding.UTF8.GetBytes(line + "\n");
        lock (_gate)
        {
            while (_suspended)
            {
                Monitor.Wait(_gate);
            }

            _stdout.Write(bytes);
            _stdout.Flush();
        }
    }

    /// <summary>Ticks every <paramref name="intervalMs"/> ms on a background thread.</summary>
    public void StartTicks(int intervalMs) => Background("console-ticks", () =>
    {
        for (long i = 1; ; i++)
        {
            WriteLine(string.Create(CultureInfo.InvariantCulture, $"fake guest tick {i}"));
            Thread.Sleep(intervalMs);
        }
    });

    /// <summary>Answers stdin lines like a shell: <c>echo: LINE</c>; <c>poweroff</c> powers the guest off.</summary>
    public void StartEcho() => Background("console-echo", () =>
    {
        using var reader = new StreamReader(Console.OpenStandardInput(), Encoding.UTF8);
        while (reader.ReadLine() is { } line)
        {
            WriteLine("echo: " + line);
            if (line == "poweroff")
            {
                _poweredOff.TrySetResult();
                return;
            }
        }

        WriteLine("fake guest console input ended");
    });

    private static void Background(string name, Action action)
    {
        var thread = new Thread(() =>
        {
            try
            {
                action();
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                // The host went away.
            }
        })
        { IsBackground = true, Name = name };
        thread.Start();
    }
}
