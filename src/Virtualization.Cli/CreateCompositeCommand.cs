using Virtualization.Core;

namespace Virtualization.Cli;

/// <summary>
/// <c>vm create-composite</c>: a crosvm composite disk (GPT) over existing partition images. The descriptor is written at
/// exactly the given path; the GPT header and footer (and a zero filler, when a read-only image is not 4 KiB aligned) go
/// next to it as <c>&lt;stem&gt;-header.img</c>, <c>&lt;stem&gt;-footer.img</c> and <c>&lt;stem&gt;-filler.img</c>,
/// where the stem is the descriptor's file name without its extension. The descriptor refers to every file by absolute path.
/// </summary>
internal sealed class CreateCompositeCommand
{
    private const string WritableSuffix = ":writable";

    private readonly TextWriter _out;

    /// <summary>Creates the command.</summary>
    /// <param name="stdout">Where the result is reported.</param>
    public CreateCompositeCommand(TextWriter stdout) => _out = stdout;

    /// <summary>Parses <c>LABEL:PATH[:writable]</c>. The path may itself contain colons.</summary>
    /// <exception cref="UsageException">No colon, empty label or empty path.</exception>
    public static Partition ParsePartition(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        int colon = spec.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            throw new UsageException($"'{spec}' is not a partition: use LABEL:PATH or LABEL:PATH:writable.");
        }

        string label = spec[..colon];
        string path = spec[(colon + 1)..];
        bool writable = false;
        if (path.EndsWith(WritableSuffix, StringComparison.Ordinal))
        {
            writable = true;
            path = path[..^WritableSuffix.Length];
        }

        if (path.Length == 0)
        {
            throw new UsageException($"'{spec}': the partition image path is empty.");
        }

        return new Partition(label, Path.GetFullPath(path), writable);
    }

    /// <summary>Builds the composite disk at <paramref name="output"/>.</summary>
    /// <exception cref="UsageException">A partition or the output is invalid, or a file cannot be written.</exception>
    public int Run(string output, IReadOnlyList<string> partitionSpecs)
    {
        if (partitionSpecs.Count == 0)
        {
            throw new UsageException("Give at least one partition (LABEL:PATH[:writable]).");
        }

        Partition[] partitions = [.. partitionSpecs.Select(ParsePartition)];
        string fullOutput = Path.GetFullPath(output);
        CompositeDisk disk;
        try
        {
            disk = CompositeDisk.Create(partitions, fullOutput);
        }
        catch (ArgumentException e)
        {
            throw new UsageException(Messages.Of(e), e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"Cannot write the composite disk '{output}': {e.Message}", e);
        }

        // What was written: the descriptor and the components that are not the partitions' own images.
        var images = new HashSet<string>(partitions.Select(p => p.Image), StringComparer.Ordinal);
        string[] created = [.. disk.Components.Select(c => c.Path).Where(p => !images.Contains(p)).Distinct(StringComparer.Ordinal), fullOutput];
        _out.WriteLine($"Created composite disk {output} ({disk.Length} bytes, {partitions.Length} partition(s)).");
        foreach (string file in created)
        {
            _out.WriteLine($"  wrote {file}");
        }

        return ExitCodes.Success;
    }
}
