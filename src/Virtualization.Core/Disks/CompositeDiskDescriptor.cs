using Google.Protobuf;

namespace Virtualization.Core.Disks;

/// <summary>
/// Encodes and decodes crosvm's composite disk descriptor: the 15-byte magic <c>composite_disk\x1d</c> followed by one
/// protobuf <c>CompositeDisk</c> message (cdisk_spec.proto) running to the end of the file. Hand-written on
/// <see cref="CodedOutputStream"/>/<see cref="CodedInputStream"/>: no generated code, no reflection.
/// </summary>
internal static class CompositeDiskDescriptor
{
    /// <summary>The only version read by every crosvm since 2021 (with absolute component paths).</summary>
    public const ulong Version1 = 1;

    /// <summary>The highest version crosvm accepts.</summary>
    public const ulong MaxVersion = 2;

    /// <summary>Descriptors larger than this are not composite descriptors (protects the reader from huge raw images).</summary>
    public const int MaxDescriptorSize = 16 * 1024 * 1024;

    // CompositeDisk
    private const int VersionField = 1;
    private const int ComponentDisksField = 2;
    private const int LengthField = 3;

    // ComponentDisk
    private const int FilePathField = 1;
    private const int OffsetField = 2;
    private const int ReadWriteCapabilityField = 3;
    private const int FileOffsetField = 4;

    private const int ReadWrite = 1;

    /// <summary>The 15-byte magic that starts every descriptor file.</summary>
    public static ReadOnlySpan<byte> Magic => MagicBytes;

    /// <summary>The magic as an array, for gather writes.</summary>
    internal static readonly byte[] MagicBytes = "composite_disk\u001d"u8.ToArray();

    /// <summary>Encodes the <c>CompositeDisk</c> message (without the magic) into one exactly-sized array.</summary>
    public static byte[] EncodeMessage(ulong version, IReadOnlyList<CompositeDiskComponent> components, long length)
    {
        int messageSize = 0;
        if (version != 0)
        {
            messageSize += 1 + CodedOutputStream.ComputeUInt64Size(version);
        }

        Span<int> componentSizes = components.Count <= 64 ? stackalloc int[components.Count] : new int[components.Count];
        for (int i = 0; i < components.Count; i++)
        {
            int size = ComponentSize(components[i]);
            componentSizes[i] = size;
            messageSize += 1 + CodedOutputStream.ComputeLengthSize(size) + size;
        }

        if (length != 0)
        {
            messageSize += 1 + CodedOutputStream.ComputeUInt64Size((ulong)length);
        }

        byte[] buffer = new byte[messageSize];
        var output = new CodedOutputStream(buffer);
        if (version != 0)
        {
            output.WriteTag(VersionField, WireFormat.WireType.Varint);
            output.WriteUInt64(version);
        }

        for (int i = 0; i < components.Count; i++)
        {
            CompositeDiskComponent c = components[i];
            output.WriteTag(ComponentDisksField, WireFormat.WireType.LengthDelimited);
            output.WriteLength(componentSizes[i]);
            output.WriteTag(FilePathField, WireFormat.WireType.LengthDelimited);
            output.WriteString(c.Path);
            if (c.Offset != 0)
            {
                output.WriteTag(OffsetField, WireFormat.WireType.Varint);
                output.WriteUInt64((ulong)c.Offset);
            }

            if (c.Writable)
            {
                output.WriteTag(ReadWriteCapabilityField, WireFormat.WireType.Varint);
                output.WriteEnum(ReadWrite);
            }

            if (c.FileOffset != 0)
            {
                output.WriteTag(FileOffsetField, WireFormat.WireType.Varint);
                output.WriteUInt64((ulong)c.FileOffset);
            }
        }

        if (length != 0)
        {
            output.WriteTag(LengthField, WireFormat.WireType.Varint);
            output.WriteUInt64((ulong)length);
        }

        output.Flush();
        output.CheckNoSpaceLeft();
        return buffer;
    }

    private static int ComponentSize(CompositeDiskComponent c)
    {
        int size = 1 + CodedOutputStream.ComputeStringSize(c.Path);
        if (c.Offset != 0)
        {
            size += 1 + CodedOutputStream.ComputeUInt64Size((ulong)c.Offset);
        }

        if (c.Writable)
        {
            size += 1 + CodedOutputStream.ComputeEnumSize(ReadWrite);
        }

        if (c.FileOffset != 0)
        {
            size += 1 + CodedOutputStream.ComputeUInt64Size((ulong)c.FileOffset);
        }

        return size;
    }

    /// <summary>A decoded descriptor; component paths are exactly as stored.</summary>
    public readonly record struct Decoded(ulong Version, List<CompositeDiskComponent> Components, ulong Length);

    /// <summary>Decodes a descriptor file's bytes (magic included).</summary>
    /// <exception cref="InvalidDataException">Bad magic or malformed protobuf.</exception>
    public static Decoded Decode(byte[] file, int count)
    {
        if (count < Magic.Length || !file.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            throw new InvalidDataException("Not a composite disk descriptor: the file does not start with the magic 'composite_disk\\x1d'.");
        }

        try
        {
            var input = new CodedInputStream(file, Magic.Length, count - Magic.Length);
            ulong version = 0;
            ulong length = 0;
            var components = new List<CompositeDiskComponent>();
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                switch (tag)
                {
                    case (VersionField << 3) | (uint)WireFormat.WireType.Varint:
                        version = input.ReadUInt64();
                        break;
                    case (ComponentDisksField << 3) | (uint)WireFormat.WireType.LengthDelimited:
                        // PushLimit is not public: read the embedded message as bytes and parse it on its own.
                        components.Add(ReadComponent(input.ReadBytes().CreateCodedInput()));
                        break;
                    case (LengthField << 3) | (uint)WireFormat.WireType.Varint:
                        length = input.ReadUInt64();
                        break;
                    default:
                        input.SkipLastField();
                        break;
                }
            }

            return new Decoded(version, components, length);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new InvalidDataException("Malformed composite disk descriptor: " + ex.Message, ex);
        }
    }

    private static CompositeDiskComponent ReadComponent(CodedInputStream input)
    {
        string path = string.Empty;
        ulong offset = 0;
        ulong fileOffset = 0;
        bool writable = false;
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (tag)
            {
                case (FilePathField << 3) | (uint)WireFormat.WireType.LengthDelimited:
                    path = input.ReadString();
                    break;
                case (OffsetField << 3) | (uint)WireFormat.WireType.Varint:
                    offset = input.ReadUInt64();
                    break;
                case (ReadWriteCapabilityField << 3) | (uint)WireFormat.WireType.Varint:
                    writable = input.ReadEnum() == ReadWrite;
                    break;
                case (FileOffsetField << 3) | (uint)WireFormat.WireType.Varint:
                    fileOffset = input.ReadUInt64();
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }

        if (offset > long.MaxValue || fileOffset > long.MaxValue)
        {
            throw new InvalidDataException($"Composite disk component '{path}' has an offset beyond 2^63.");
        }

        return new CompositeDiskComponent(path, (long)offset, writable) { FileOffset = (long)fileOffset };
    }
}
