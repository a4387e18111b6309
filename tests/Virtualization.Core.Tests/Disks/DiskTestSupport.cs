using Google.Protobuf;

namespace Virtualization.Core.Tests.Disks;

/// <summary>Runs the partitioning tools (sgdisk from gdisk, sfdisk from fdisk) when they are installed.</summary>
internal static class DiskTools
{
    private static readonly string[] ExtraDirs = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"];

    public static string? Find(string tool)
    {
        IEnumerable<string> dirs = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(':', StringSplitOptions.RemoveEmptyEntries).Concat(ExtraDirs);
        foreach (string dir in dirs)
        {
            string candidate = Path.Combine(dir, tool);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Skips the test (with the reason) when the tool is not installed.</summary>
    public static string Require(string tool, string debianPackage)
    {
        string? path = Find(tool);
        Infrastructure.Requirement.Require(tool, path is not null, $"{tool} is not installed (Debian package '{debianPackage}': apt-get install -y {debianPackage}).");
        return path!;
    }
}

/// <summary>An independent decoder of the crosvm descriptor, written against cdisk_spec.proto with CodedInputStream.</summary>
internal static class DescriptorDecoder
{
    public static readonly byte[] Magic = [0x63, 0x6F, 0x6D, 0x70, 0x6F, 0x73, 0x69, 0x74, 0x65, 0x5F, 0x64, 0x69, 0x73, 0x6B, 0x1D];

    public sealed record Component(string FilePath, ulong Offset, int ReadWriteCapability);

    public sealed record Message(ulong Version, List<Component> Components, ulong Length);

    public static Message Decode(byte[] file)
    {
        file.AsSpan(0, Magic.Length).SequenceEqual(Magic).Should().BeTrue("the descriptor starts with composite_disk\\x1d");
        var input = new CodedInputStream(file, Magic.Length, file.Length - Magic.Length);
        ulong version = 0, length = 0;
        var components = new List<Component>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: version = input.ReadUInt64(); break;
                case 2: components.Add(DecodeComponent(input.ReadBytes().CreateCodedInput())); break;
                case 3: length = input.ReadUInt64(); break;
                default: throw new InvalidDataException($"unexpected field {WireFormat.GetTagFieldNumber(tag)}");
            }
        }

        return new Message(version, components, length);
    }

    private static Component DecodeComponent(CodedInputStream input)
    {
        string path = string.Empty;
        ulong offset = 0;
        int rw = 0;
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: path = input.ReadString(); break;
                case 2: offset = input.ReadUInt64(); break;
                case 3: rw = input.ReadEnum(); break;
                default: throw new InvalidDataException($"unexpected component field {WireFormat.GetTagFieldNumber(tag)}");
            }
        }

        return new Component(path, offset, rw);
    }
}
