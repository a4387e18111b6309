using Microsoft.Win32.SafeHandles;

namespace Virtualization.Cli;

/// <summary><c>vm create-partition</c>: a new, zero-filled, sparse partition image.</summary>
internal sealed class CreatePartitionCommand
{
    private readonly TextWriter _out;

    /// <summary>Creates the command.</summary>
    /// <param name="stdout">Where the result is reported.</param>
    public CreatePartitionCommand(TextWriter stdout) => _out = stdout;

    /// <summary>Creates <paramref name="path"/> with <paramref name="sizeText"/> bytes.</summary>
    /// <exception cref="UsageException">Bad size or type, the file exists, or it cannot be created.</exception>
    public int Run(string path, string sizeText, string type)
    {
        if (!string.Equals(type, "raw", StringComparison.Ordinal))
        {
            throw new UsageException(
                $"Partition type '{type}' is not supported: only 'raw' is (Android's 'instance' type belongs to its protected-VM payloads).");
        }

        long size = SizeParser.Parse(sizeText);
        if (File.Exists(path) || Directory.Exists(path))
        {
            throw new UsageException($"'{path}' already exists; refusing to overwrite it.");
        }

        try
        {
            using SafeFileHandle handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write, FileShare.None);

            // Growing with ftruncate leaves a hole: the file reads as zeros and takes no space until written.
            RandomAccess.SetLength(handle, size);
        }
        catch (IOException e) when (File.Exists(path) && e is not PathTooLongException)
        {
            throw new UsageException($"'{path}' already exists; refusing to overwrite it.", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new UsageException($"Cannot create '{path}': {e.Message}", e);
        }

        _out.WriteLine($"Created raw partition {path} ({size} bytes).");
        return ExitCodes.Success;
    }
}
