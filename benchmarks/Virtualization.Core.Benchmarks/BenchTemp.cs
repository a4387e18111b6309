namespace Virtualization.Core.Benchmarks;

/// <summary>
/// A private scratch folder under <c>/tmp</c> (short, because unix socket paths are limited to 107 bytes), deleted
/// on dispose.
/// </summary>
internal sealed class BenchTemp : IDisposable
{
    /// <param name="prefix">Part of the folder name.</param>
    /// <param name="fs"><c>tmpfs</c> for <c>/dev/shm</c> (what <c>$XDG_RUNTIME_DIR</c>, the library's default
    /// root, normally is); <c>disk</c> for the system temp folder (<c>/tmp</c>, the fallback default).</param>
    public BenchTemp(string prefix, string fs = Disk)
    {
        string root = fs switch
        {
            Tmpfs => "/dev/shm",
            Disk => System.IO.Path.GetTempPath(),
            _ => throw new ArgumentOutOfRangeException(nameof(fs), fs, "Expected tmpfs or disk."),
        };
        Path = System.IO.Path.Combine(root, "vcb-" + prefix + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    public const string Tmpfs = "tmpfs";
    public const string Disk = "disk";

    public string Path { get; }

    public string Combine(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Creates a sub-folder and returns its path.</summary>
    public string Folder(string name) => Directory.CreateDirectory(Combine(name)).FullName;

    /// <summary>Writes a file of <paramref name="size"/> bytes (a repeating pattern) and returns its path.</summary>
    public string File(string name, int size)
    {
        byte[] bytes = new byte[size];
        for (int i = 0; i < bytes.Length; i++)
        {
            bytes[i] = (byte)i;
        }

        string path = Combine(name);
        System.IO.File.WriteAllBytes(path, bytes);
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
