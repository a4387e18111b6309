using System.Globalization;

namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>Looks at processes through /proc.</summary>
internal static class ProcessProbe
{
    /// <summary>Whether <paramref name="pid"/> is alive (not a zombie).</summary>
    public static bool IsAlive(int pid)
    {
        string stat = $"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat";
        try
        {
            string text = File.ReadAllText(stat);
            char state = text[text.LastIndexOf(')') + 2];
            return state != 'Z' && state != 'X';
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>Pids of live processes in process group <paramref name="pgid"/>.</summary>
    public static IReadOnlyList<int> InProcessGroup(int pgid)
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
                if (fields[0] is not ("Z" or "X") && int.Parse(fields[2], CultureInfo.InvariantCulture) == pgid)
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
