namespace Virtualization.Core.Benchmarks;

/// <summary>
/// A private scratch folder under <c>/tmp</c> (short, because unix socket paths are limited to 107 bytes), deleted
/// on dispose.
/// </summary>
internal sealed class BenchTemp : IDisposable
{
    public BenchTemp(string prefix)
    {
        Path = Directory.CreateTempSubdirectory("vcb-" + prefix + "-").FullName;
    }

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
