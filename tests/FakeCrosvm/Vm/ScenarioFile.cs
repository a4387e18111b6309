using System.Text;

namespace FakeCrosvm.Vm;

/// <summary>Reads a scenario from a kernel (or BIOS) file, cheaply: only files that start with the marker are read in full.</summary>
internal static class ScenarioFile
{
    private const int MaxScenarioBytes = 1 << 20;

    /// <summary>Returns the scenario in <paramref name="path"/>, or <c>null</c> if it is not a readable scenario file.</summary>
    /// <exception cref="CommandFailedException">The file is a scenario file but its content is invalid.</exception>
    public static Scenario? TryLoad(string path)
    {
        byte[] marker = Encoding.ASCII.GetBytes(Scenario.Marker);
        byte[] content;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists || (info.Attributes & FileAttributes.Directory) != 0 || info.Length < marker.Length)
            {
                return null;
            }

            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.None);
            byte[] head = new byte[marker.Length];
            stream.ReadExactly(head);
            if (!head.AsSpan().SequenceEqual(marker) || stream.Length > MaxScenarioBytes)
            {
                return null;
            }

            content = new byte[stream.Length - head.Length];
            stream.ReadExactly(content);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return null;
        }

        string[] lines = Encoding.UTF8.GetString(content).Split('\n');
        if (lines[0].TrimEnd('\r').Length != 0)
        {
            return null; // the first line is longer than the marker
        }

        return Scenario.Parse(lines.Skip(1));
    }
}
