using System.Globalization;
using Virtualization.Core;

namespace Virtualization.Cli;

/// <summary><c>vm inspect</c>: describes a disk image, listing the components of a composite descriptor.</summary>
internal sealed class InspectCommand
{
    private readonly TextWriter _out;

    /// <summary>Creates the command.</summary>
    /// <param name="stdout">Where the description goes.</param>
    public InspectCommand(TextWriter stdout) => _out = stdout;

    /// <summary>Describes <paramref name="path"/>.</summary>
    /// <exception cref="UsageException">The file does not exist, cannot be read, or is a damaged composite descriptor.</exception>
    public int Run(string path)
    {
        long length;
        bool composite;
        try
        {
            length = new FileInfo(path).Length;
            composite = CompositeDisk.IsDescriptor(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new UsageException($"Cannot read '{path}': {e.Message}", e);
        }

        if (!composite)
        {
            _out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"raw image, {length} bytes"));
            return ExitCodes.Success;
        }

        CompositeDisk disk;
        try
        {
            disk = CompositeDisk.Open(path);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"'{path}' is a damaged composite disk descriptor: {e.Message}", e);
        }

        _out.WriteLine("composite disk");
        _out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"version: {disk.Version}"));
        _out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"length: {disk.Length} bytes"));
        _out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"components: {disk.Components.Count}"));
        _out.WriteLine($"  {"offset",-14}  {"writable",-8}  path");
        foreach (CompositeDiskComponent c in disk.Components)
        {
            string offset = c.Offset.ToString(CultureInfo.InvariantCulture);
            string writable = c.Writable ? "yes" : "no";
            string missing = File.Exists(c.Path) ? string.Empty : "  (missing)";
            _out.WriteLine($"  {offset,-14}  {writable,-8}  {c.Path}{missing}");
        }

        return ExitCodes.Success;
    }
}
