using System.Diagnostics;
using System.Globalization;

namespace Virtualization.Core.Benchmarks;

/// <summary>What this process holds at one moment: managed heap after a full GC, threads, open descriptors.</summary>
/// <param name="Heap">Bytes of live managed objects: <c>GC.GetTotalMemory(true)</c> after two blocking full GCs.</param>
/// <param name="Threads">Threads of this process (entries of <c>/proc/self/task</c>).</param>
/// <param name="PoolWorkers">Of those, thread-pool workers (<c>comm</c> = <c>.NET TP Worker</c>).</param>
/// <param name="Fds">Open descriptors (entries of <c>/proc/self/fd</c>, counted while it is open, so one more).</param>
/// <param name="ThreadNames">Threads by name (<c>comm</c>, 15 characters at most), for the log.</param>
internal sealed record ProcessSnapshot(long Heap, int Threads, int PoolWorkers, int Fds, string ThreadNames)
{
    /// <summary>Threads whose name starts with <paramref name="prefix"/>.</summary>
    public int Named(string prefix) => Names.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).Sum(kv => kv.Value);

    private Dictionary<string, int> Names { get; init; } = [];

    /// <summary>Threads of this process whose name starts with <paramref name="prefix"/> (no GC).</summary>
    public static int CountThreads(string prefix)
    {
        int count = 0;
        foreach (string task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            try
            {
                count += File.ReadAllText(Path.Combine(task, "comm")).StartsWith(prefix, StringComparison.Ordinal) ? 1 : 0;
            }
            catch (IOException)
            {
            }
        }

        return count;
    }

    public static ProcessSnapshot Take()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        long heap = GC.GetTotalMemory(forceFullCollection: true);
        int threads = 0;
        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            threads++;
            try
            {
                string name = File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n');
                names[name] = names.GetValueOrDefault(name) + 1;
            }
            catch (IOException)
            {
                // The thread exited meanwhile.
            }
        }

        int fds = Directory.EnumerateFileSystemEntries("/proc/self/fd").Count();
        int workers = names.Where(kv => kv.Key.StartsWith(".NET TP Worker", StringComparison.Ordinal)).Sum(kv => kv.Value);
        string described = string.Join(", ", names.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} × {kv.Value}"));
        return new ProcessSnapshot(heap, threads, workers, fds, described) { Names = names };
    }
}

/// <summary>Small helpers for the custom measurements: load, percentiles, formatting, process lookups.</summary>
internal static class Measure
{
    private static readonly CultureInfo s_invariant = CultureInfo.InvariantCulture;

    /// <summary>The 1, 5 and 15 minute load averages, as <c>uptime</c> prints them.</summary>
    public static string Load()
    {
        string[] fields = File.ReadAllText("/proc/loadavg").Split(' ');
        return $"{fields[0]}, {fields[1]}, {fields[2]}";
    }

    /// <summary>Nearest-rank percentile (0 &lt; <paramref name="p"/> ≤ 100) of sorted values.</summary>
    public static double Percentile(double[] sorted, double p)
    {
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        int rank = (int)Math.Ceiling(p / 100 * sorted.Length);
        return sorted[Math.Clamp(rank, 1, sorted.Length) - 1];
    }

    public static int Int(string text) => int.Parse(text, NumberStyles.Integer, s_invariant);

    public static double Milliseconds(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    public static string F(double value, string format = "0.00") => value.ToString(format, s_invariant);

    public static string I(long value) => value.ToString("#,0", s_invariant);

    /// <summary>Pids listed in <c>/proc/PID/task/PID/children</c> (the children of the main thread).</summary>
    public static int[] Children(int pid)
    {
        string text = File.ReadAllText($"/proc/{pid}/task/{pid}/children");
        return text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, s_invariant)).ToArray();
    }

    /// <summary>Processes on the host whose argv[0] is <paramref name="program"/> (a full path).</summary>
    public static int CountProcesses(string program)
    {
        int count = 0;
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, s_invariant, out _))
            {
                continue;
            }

            try
            {
                string cmdline = File.ReadAllText(Path.Combine(dir, "cmdline"));
                int end = cmdline.IndexOf('\0', StringComparison.Ordinal);
                if ((end < 0 ? cmdline : cmdline[..end]) == program)
                {
                    count++;
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return count;
    }

    /// <summary>Summary of latencies in ms: p50, p90, p99, max, mean.</summary>
    public static (double P50, double P90, double P99, double Max, double Mean) Summarize(IEnumerable<double> values)
    {
        double[] sorted = values.Order().ToArray();
        return (Percentile(sorted, 50), Percentile(sorted, 90), Percentile(sorted, 99), sorted.Length == 0 ? double.NaN : sorted[^1],
            sorted.Length == 0 ? double.NaN : sorted.Average());
    }
}

/// <summary>
/// <c>/proc/PID/schedstat</c>: nanoseconds a task has run on a CPU and nanoseconds it has waited on a run queue
/// (runnable but not running) since it started. Under load the second one is where start-up time goes.
/// </summary>
internal static class SchedStat
{
    /// <summary>(run, wait) in ms for the main thread of <paramref name="pid"/>; (NaN, NaN) if it is gone.</summary>
    public static (double Run, double Wait) Of(int pid) => Read($"/proc/{pid}/schedstat");

    /// <summary>(run, wait) in ms summed over every thread of this process (threads that exited are not counted).</summary>
    public static (double Run, double Wait) OfSelf()
    {
        double run = 0;
        double wait = 0;
        foreach (string task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            (double r, double w) = Read(Path.Combine(task, "schedstat"));
            if (!double.IsNaN(r))
            {
                run += r;
                wait += w;
            }
        }

        return (run, wait);
    }

    private static (double Run, double Wait) Read(string path)
    {
        try
        {
            string[] fields = File.ReadAllText(path).Split(' ');
            return (long.Parse(fields[0], CultureInfo.InvariantCulture) / 1e6, long.Parse(fields[1], CultureInfo.InvariantCulture) / 1e6);
        }
        catch (IOException)
        {
            return (double.NaN, double.NaN);
        }
    }
}

