using System.Globalization;

namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>Looks at processes through /proc.</summary>
internal static class ProcessProbe
{
    /// <summary>Whether <paramref name="pid"/> is alive (not a zombie).</summary>
    public static bool IsAlive(int pid)
    {
        try
        {
            char state = State(pid);
            return state != 'Z' && state != 'X';
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>The state letter of <c>/proc/PID/stat</c> (R, S, Z for a zombie, ...).</summary>
    /// <exception cref="IOException">There is no such process (any more).</exception>
    public static char State(int pid)
    {
        string text = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        return text[text.LastIndexOf(')') + 2];
    }

    /// <summary>Pids of live processes in process group <paramref name="pgid"/>.</summary>
    public static IReadOnlyList<int> InProcessGroup(int pgid) => Matching(2, pgid);

    /// <summary>
    /// Pids of live processes in session <paramref name="sid"/>. vcore-exec (the pid the library reports) leads a session
    /// holding the VMM and everything it forked.
    /// </summary>
    public static IReadOnlyList<int> InSession(int sid) => Matching(3, sid);

    /// <summary>Pids of live processes in any of the sessions <paramref name="sids"/> (one scan of /proc).</summary>
    public static IReadOnlyList<int> InSessions(IEnumerable<int> sids)
    {
        var wanted = sids.ToHashSet();
        return wanted.Count == 0 ? [] : Matching(3, wanted.Contains);
    }

    /// <summary>Pids of live processes one of whose argv elements contains <paramref name="fragment"/>.</summary>
    public static IReadOnlyList<int> WithArgumentContaining(string fragment)
    {
        var result = new List<int>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            {
                continue;
            }

            try
            {
                if (File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0').Any(a => a.Contains(fragment, StringComparison.Ordinal))
                    && IsAlive(pid))
                {
                    result.Add(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile, or not ours to read.
            }
        }

        return result;
    }

    /// <summary>The number of open file descriptors of this process.</summary>
    public static int OpenFileDescriptors() => Directory.GetFiles("/proc/self/fd").Length;

    /// <summary>The number of threads of this process whose name (<c>comm</c>) is <paramref name="name"/>.</summary>
    public static int ThreadsNamed(string name) =>
        Directory.GetDirectories("/proc/self/task").Count(task =>
        {
            try
            {
                return File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n') == name;
            }
            catch (IOException)
            {
                return false; // The thread exited meanwhile.
            }
        });

    /// <summary>The number of threads of this process.</summary>
    public static int Threads() => Directory.GetDirectories("/proc/self/task").Length;

    private static List<int> Matching(int field, int value) => Matching(field, v => v == value);

    private static List<int> Matching(int field, Func<int, bool> accept)
    {
        var result = new List<int>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            {
                continue;
            }

            try
            {
                string text = File.ReadAllText(Path.Combine(dir, "stat"));
                string[] fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
                if (fields[0] is not ("Z" or "X") && accept(int.Parse(fields[field], CultureInfo.InvariantCulture)))
                {
                    result.Add(pid);
                }
            }
            catch (IOException)
            {
            }
        }

        return result;
    }

    /// <summary>Waits until <paramref name="condition"/> holds, polling /proc (there is no event for another process's death).</summary>
    public static async Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(10));
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await timer.WaitForNextTickAsync();
        }

        return true;
    }
}
