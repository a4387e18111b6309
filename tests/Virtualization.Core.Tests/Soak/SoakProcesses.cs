using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Virtualization.Core.Tests.Soak;

/// <summary>
/// Process bookkeeping for long runs, where pids get reused: a process is named by its pid and its start time
/// (/proc/PID/stat field 22), so a pid that a later, unrelated process took is not mistaken for a leak.
/// </summary>
internal sealed class SoakProcesses
{
    private readonly ConcurrentDictionary<int, long> _helpers = new();

    /// <summary>How many distinct helper (vcore-exec) processes were seen.</summary>
    public int Count => _helpers.Count;

    /// <summary>Remembers <paramref name="pid"/> (a helper pid from DebugListVms) with its start time, if it is alive.</summary>
    public void Track(int pid)
    {
        if (!_helpers.ContainsKey(pid) && StartTime(pid) is { } start)
        {
            _helpers.TryAdd(pid, start);
        }
    }

    /// <summary>Tracked helpers that are still alive (same pid, same start time, not a zombie).</summary>
    public IReadOnlyList<int> AliveHelpers() =>
        [.. _helpers.Where(p => StartTime(p.Key) == p.Value).Select(p => p.Key)];

    /// <summary>
    /// Live processes in the session of a tracked helper (the VMM and anything it forked), skipping sessions whose id
    /// now belongs to another process that leads them (the pid was reused).
    /// </summary>
    public IReadOnlyList<string> AliveInHelperSessions()
    {
        var result = new List<string>();
        foreach ((int pid, int sid) in LiveProcesses())
        {
            if (_helpers.TryGetValue(sid, out long start) && StartTime(sid) is var leader && (leader is null || leader == start))
            {
                result.Add(Describe(pid));
            }
        }

        return result;
    }

    /// <summary>Live processes whose command line mentions <paramref name="marker"/> (the test's private folder).</summary>
    public static IReadOnlyList<string> AliveMentioning(string marker)
    {
        var result = new List<string>();
        foreach ((int pid, _) in LiveProcesses())
        {
            if (pid != Environment.ProcessId && CommandLine(pid).Contains(marker, StringComparison.Ordinal))
            {
                result.Add(Describe(pid));
            }
        }

        return result;
    }

    /// <summary>The start time (clock ticks since boot) of a live, non-zombie <paramref name="pid"/>; null otherwise.</summary>
    public static long? StartTime(int pid)
    {
        string[]? fields = StatFields(pid);
        return fields is null || fields[0] is "Z" or "X" ? null : long.Parse(fields[19], CultureInfo.InvariantCulture);
    }

    private static string Describe(int pid) => $"{pid.ToString(CultureInfo.InvariantCulture)} [{CommandLine(pid)}]";

    private static string CommandLine(int pid)
    {
        try
        {
            return Encoding.UTF8.GetString(File.ReadAllBytes($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/cmdline")).Replace('\0', ' ').Trim();
        }
        catch (IOException)
        {
            return string.Empty;
        }
        catch (UnauthorizedAccessException)
        {
            return string.Empty;
        }
    }

    /// <summary>Fields of /proc/PID/stat after the command name: [0] is the state, [3] the session, [19] the start time.</summary>
    private static string[]? StatFields(int pid)
    {
        try
        {
            string text = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            return text[(text.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static List<(int Pid, int Sid)> LiveProcesses()
    {
        var result = new List<(int, int)>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
                && StatFields(pid) is { } fields && fields[0] is not ("Z" or "X"))
            {
                result.Add((pid, int.Parse(fields[3], CultureInfo.InvariantCulture)));
            }
        }

        return result;
    }
}
