using System.Text;

namespace FakeCrosvm;

/// <summary>Writes a whole file atomically: a temporary file in the same directory, then rename(2).</summary>
internal static class AtomicFile
{
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> content)
    {
        string full = Path.GetFullPath(path);
        string temp = $"{full}.tmp-{Environment.ProcessId}";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(content);
            stream.Flush(flushToDisk: false);
        }

        File.Move(temp, full, overwrite: true);
    }

    public static void WriteAllText(string path, string content) =>
        WriteAllBytes(path, Encoding.UTF8.GetBytes(content));
}
