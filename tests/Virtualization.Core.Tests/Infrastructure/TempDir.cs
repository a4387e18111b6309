namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>
/// The suite's one temporary folder outside a <see cref="TestHarness"/> (whose <c>Root</c> is its own): a fresh,
/// private (0700) folder under the system's temporary directory, named <c>vct-&lt;area&gt;-&lt;random&gt;</c>, deleted
/// with everything in it on dispose.
/// </summary>
internal sealed class TempDir : IDisposable
{
    /// <summary>Creates the folder.</summary>
    /// <param name="prefix">The start of its name: <c>vct-</c> and the test area, so a leftover says who left it.</param>
    public TempDir(string prefix = "vct-")
    {
        Path = Directory.CreateTempSubdirectory(prefix).FullName;
    }

    /// <summary>The folder's full path.</summary>
    public string Path { get; }

    /// <summary>The path of <paramref name="name"/> inside the folder (nothing is created).</summary>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Creates a file of <paramref name="size"/> bytes with a recognisable non-zero pattern derived from <paramref name="tag"/>.</summary>
    public string CreateImage(string name, int size, byte tag)
    {
        string path = File(name);
        System.IO.File.WriteAllBytes(path, Pattern(size, tag));
        return path;
    }

    /// <summary>The bytes <see cref="CreateImage"/> writes: never zero, and different for each tag.</summary>
    public static byte[] Pattern(int size, byte tag)
    {
        var bytes = new byte[size];
        for (int i = 0; i < size; i++)
        {
            bytes[i] = (byte)((((i * 7) + tag) % 255) + 1); // never zero
        }

        return bytes;
    }

    /// <summary>The names of the regular files directly in the folder, in ordinal order.</summary>
    public string[] Files() => [.. Directory.GetFiles(Path).Select(System.IO.Path.GetFileName).Order(StringComparer.Ordinal)!];

    /// <summary>Deletes the folder and everything in it (gone already is fine).</summary>
    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
