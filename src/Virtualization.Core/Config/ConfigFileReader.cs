using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Virtualization.Core.Config;

/// <summary>
/// Turns the JSON of an Android <c>vm run</c> configuration into a <see cref="VirtualMachineRawConfig"/>
/// (see <see cref="VirtualMachineConfigFile"/> for the format). Reflection-free: walks a <see cref="JsonDocument"/>.
/// </summary>
internal static class ConfigFileReader
{
    /// <summary>Fields Android's config defines that have no meaning here: checked for type, then ignored.</summary>
    private static readonly Dictionary<string, JsonValueKind> s_ignored = new(StringComparer.Ordinal)
    {
        ["name"] = JsonValueKind.String,
        ["platform_version"] = JsonValueKind.String,
        ["console_input_device"] = JsonValueKind.String,
        ["devices"] = JsonValueKind.Array,
        ["hugepages"] = JsonValueKind.True,
        ["gdb_port"] = JsonValueKind.Number,
        ["boost_uclamp"] = JsonValueKind.True,
    };

    public static VirtualMachineRawConfig Read(ReadOnlyMemory<byte> utf8, string baseDirectory, out IReadOnlyList<string> ignoredFields)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8, VirtualMachineConfigFile.DocumentOptions);
        }
        catch (JsonException e)
        {
            throw Malformed(utf8.Span, e);
        }

        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new VirtualMachineConfigException("$", $"the configuration must be a JSON object, not {Describe(root.ValueKind)}.");
            }

            var ignored = new List<string>();
            var config = new VirtualMachineRawConfig();
            string? cpuSource = null;
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (JsonProperty property in root.EnumerateObject())
            {
                string name = property.Name;
                JsonElement value = property.Value;
                if (!seen.Add(name))
                {
                    throw new VirtualMachineConfigException(name, "appears more than once.");
                }

                if (value.ValueKind == JsonValueKind.Null && name != "disks")
                {
                    // serde reads null as an absent optional field.
                    continue;
                }

                switch (name)
                {
                    case "kernel":
                        config = config with { Kernel = ReadPath(value, name, baseDirectory) };
                        break;
                    case "initrd":
                        config = config with { Initrd = ReadPath(value, name, baseDirectory) };
                        break;
                    case "bootloader":
                        config = config with { Bootloader = ReadPath(value, name, baseDirectory) };
                        break;
                    case "params":
                        config = config with { Params = ReadString(value, name) };
                        break;
                    case "protected":
                        config = config with { Protected = ReadBool(value, name) };
                        break;
                    case "memory_mib":
                        config = config with { MemoryMib = ReadPositiveInt(value, name) };
                        break;
                    case "cpus":
                        ThrowIfCpusTwice(cpuSource, name);
                        cpuSource = name;
                        config = config with { CpuCount = ReadPositiveInt(value, name) };
                        break;
                    case "cpu_topology":
                        ThrowIfCpusTwice(cpuSource, name);
                        cpuSource = name;
                        config = config with { CpuCount = ReadCpuTopology(value, name) };
                        break;
                    case "disks":
                        config = config with { Disks = ReadDisks(value, baseDirectory) };
                        break;
                    case "payload_channel":
                        config = config with { PayloadChannel = ReadPayloadChannel(value, name) };
                        break;
                    default:
                        if (!s_ignored.TryGetValue(name, out JsonValueKind kind))
                        {
                            throw new VirtualMachineConfigException(
                                name,
                                "is not a known configuration field (known: kernel, initrd, params, bootloader, disks, protected, memory_mib, cpus, "
                                + "cpu_topology, payload_channel, and the ignored " + string.Join(", ", s_ignored.Keys) + ").");
                        }

                        CheckIgnored(value, name, kind);
                        ignored.Add(name);
                        break;
                }
            }

            ignoredFields = ignored.AsReadOnly();
            return config;
        }
    }

    /// <summary>
    /// <c>payload_channel</c>, an extension of this library (Android's raw config has no payload field; its app configs name
    /// the payload inside the APK): <c>true</c> for the defaults, <c>false</c> for none, or an object with
    /// <c>transport</c> (<c>"serial"</c> or <c>"vsock"</c>), <c>stdio</c> (bool) and <c>start_timeout_ms</c> (positive
    /// integer; 0 turns the watchdog off).
    /// </summary>
    private static PayloadChannelOptions? ReadPayloadChannel(JsonElement value, string field)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.True:
                return new PayloadChannelOptions();
            case JsonValueKind.False:
                return null;
            case JsonValueKind.Object:
                break;
            default:
                throw WrongType(field, "true, false or an object with transport, stdio and start_timeout_ms", value);
        }

        var options = new PayloadChannelOptions();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (JsonProperty property in value.EnumerateObject())
        {
            string name = $"{field}.{property.Name}";
            if (!seen.Add(property.Name))
            {
                throw new VirtualMachineConfigException(name, "appears more than once.");
            }

            JsonElement item = property.Value;
            if (item.ValueKind == JsonValueKind.Null)
            {
                continue;
            }

            switch (property.Name)
            {
                case "transport":
                    string transport = ReadString(item, name);
                    options = options with
                    {
                        Transport = transport switch
                        {
                            "serial" => PayloadTransport.Serial,
                            "vsock" => PayloadTransport.Vsock,
                            _ => throw new VirtualMachineConfigException(name, $"'{transport}' is not a transport; use \"serial\" or \"vsock\"."),
                        },
                    };
                    break;
                case "stdio":
                    options = options with { Stdio = ReadBool(item, name) };
                    break;
                case "start_timeout_ms":
                    if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out int milliseconds) || milliseconds < 0)
                    {
                        throw new VirtualMachineConfigException(name, $"must be a number of milliseconds from 0 (no watchdog) to 2^31-1, not {Describe(item)}.");
                    }

                    options = options with { StartTimeout = milliseconds == 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(milliseconds) };
                    break;
                default:
                    throw new VirtualMachineConfigException(name, "is not a known payload_channel field (known: transport, stdio, start_timeout_ms).");
            }
        }

        return options;
    }

    private static void ThrowIfCpusTwice(string? previous, string name)
    {
        if (previous is not null)
        {
            throw new VirtualMachineConfigException(name, $"conflicts with '{previous}': give the vCPU count only once.");
        }
    }

    private static System.Collections.ObjectModel.ReadOnlyCollection<DiskImage> ReadDisks(JsonElement value, string baseDirectory)
    {
        const string Field = "disks";
        if (value.ValueKind != JsonValueKind.Array)
        {
            throw WrongType(Field, "an array of disk objects", value);
        }

        var disks = new List<DiskImage>(value.GetArrayLength());
        int index = 0;
        foreach (JsonElement disk in value.EnumerateArray())
        {
            disks.Add(ReadDisk(disk, $"{Field}[{index}]", baseDirectory));
            index++;
        }

        return disks.AsReadOnly();
    }

    private static DiskImage ReadDisk(JsonElement disk, string field, string baseDirectory)
    {
        if (disk.ValueKind != JsonValueKind.Object)
        {
            throw WrongType(field, "a disk object", disk);
        }

        string? image = null;
        bool? writable = null;
        IReadOnlyList<Partition> partitions = [];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (JsonProperty property in disk.EnumerateObject())
        {
            string name = $"{field}.{property.Name}";
            if (!seen.Add(property.Name))
            {
                throw new VirtualMachineConfigException(name, "appears more than once.");
            }

            JsonElement value = property.Value;
            switch (property.Name)
            {
                case "image":
                    image = value.ValueKind == JsonValueKind.Null ? null : ReadPath(value, name, baseDirectory);
                    break;
                case "writable":
                    writable = ReadBool(value, name);
                    break;
                case "partitions":
                    partitions = value.ValueKind == JsonValueKind.Null ? [] : ReadPartitions(value, name, baseDirectory);
                    break;
                default:
                    throw new VirtualMachineConfigException(name, "is not a known disk field (known: image, partitions, writable).");
            }
        }

        if (writable is not { } isWritable)
        {
            throw new VirtualMachineConfigException($"{field}.writable", "is required: say whether the guest may write to the disk (true or false).");
        }

        return new DiskImage(image, isWritable, partitions);
    }

    private static System.Collections.ObjectModel.ReadOnlyCollection<Partition> ReadPartitions(JsonElement value, string field, string baseDirectory)
    {
        if (value.ValueKind != JsonValueKind.Array)
        {
            throw WrongType(field, "an array of partition objects", value);
        }

        var partitions = new List<Partition>(value.GetArrayLength());
        int index = 0;
        foreach (JsonElement partition in value.EnumerateArray())
        {
            partitions.Add(ReadPartition(partition, $"{field}[{index}]", baseDirectory));
            index++;
        }

        return partitions.AsReadOnly();
    }

    private static Partition ReadPartition(JsonElement partition, string field, string baseDirectory)
    {
        if (partition.ValueKind != JsonValueKind.Object)
        {
            throw WrongType(field, "a partition object", partition);
        }

        string? label = null;
        string? path = null;
        bool writable = false;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (JsonProperty property in partition.EnumerateObject())
        {
            string name = $"{field}.{property.Name}";
            if (!seen.Add(property.Name))
            {
                throw new VirtualMachineConfigException(name, "appears more than once.");
            }

            JsonElement value = property.Value;
            switch (property.Name)
            {
                case "label":
                    label = ReadString(value, name);
                    break;
                case "path":
                    path = ReadPath(value, name, baseDirectory);
                    break;
                case "writable":
                    writable = value.ValueKind != JsonValueKind.Null && ReadBool(value, name);
                    break;
                default:
                    throw new VirtualMachineConfigException(name, "is not a known partition field (known: label, path, writable).");
            }
        }

        if (label is null)
        {
            throw new VirtualMachineConfigException($"{field}.label", "is required: the GPT partition name.");
        }

        if (path is null)
        {
            throw new VirtualMachineConfigException($"{field}.path", "is required: the file that backs the partition.");
        }

        return new Partition(label, path, writable);
    }

    private static int ReadCpuTopology(JsonElement value, string field)
    {
        string topology = ReadString(value, field);
        return topology switch
        {
            "one_cpu" => 1,
            "match_host" => Environment.ProcessorCount,
            _ => throw new VirtualMachineConfigException(field, $"'{topology}' is not a CPU topology; use \"one_cpu\" or \"match_host\"."),
        };
    }

    private static void CheckIgnored(JsonElement value, string field, JsonValueKind kind)
    {
        switch (kind)
        {
            case JsonValueKind.String:
                _ = ReadString(value, field);
                break;
            case JsonValueKind.True:
                _ = ReadBool(value, field);
                break;
            case JsonValueKind.Number:
                if (value.ValueKind != JsonValueKind.Number || !value.TryGetUInt16(out ushort port) || port == 0)
                {
                    throw new VirtualMachineConfigException(field, $"must be a port number from 1 to 65535, not {Describe(value)}.");
                }

                break;
            case JsonValueKind.Array:
                if (value.ValueKind != JsonValueKind.Array)
                {
                    throw WrongType(field, "an array of strings", value);
                }

                int i = 0;
                foreach (JsonElement item in value.EnumerateArray())
                {
                    _ = ReadString(item, $"{field}[{i}]");
                    i++;
                }

                break;
        }
    }

    private static string ReadPath(JsonElement value, string field, string baseDirectory)
    {
        string path = ReadString(value, field);
        if (path.Length == 0 || path.Contains('\0', StringComparison.Ordinal))
        {
            // Left for the service to reject with its own message; resolving would throw here.
            return path;
        }

        return Path.GetFullPath(path, baseDirectory);
    }

    private static string ReadString(JsonElement value, string field) =>
        value.ValueKind == JsonValueKind.String ? value.GetString()! : throw WrongType(field, "a string", value);

    private static bool ReadBool(JsonElement value, string field) => value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw WrongType(field, "true or false", value),
    };

    private static int ReadPositiveInt(JsonElement value, string field)
    {
        if (value.ValueKind != JsonValueKind.Number)
        {
            throw WrongType(field, "a positive integer", value);
        }

        if (!value.TryGetInt32(out int number))
        {
            throw new VirtualMachineConfigException(field, $"must be a positive integer below 2^31, not {value.GetRawText()}.");
        }

        if (number <= 0)
        {
            throw new VirtualMachineConfigException(field, $"must be a positive integer, not {number} (omit the field for the default).");
        }

        return number;
    }

    private static VirtualMachineConfigException WrongType(string field, string expected, JsonElement actual) =>
        new(field, $"must be {expected}, not {Describe(actual)}.");

    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => $"the string {value.GetRawText()}",
        JsonValueKind.Number => $"the number {value.GetRawText()}",
        _ => Describe(value.ValueKind),
    };

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    /// <summary>Reports a JSON syntax error with a 1-based line and a 1-based column counted in characters.</summary>
    private static VirtualMachineConfigException Malformed(ReadOnlySpan<byte> utf8, JsonException e)
    {
        long line = (e.LineNumber ?? 0) + 1;
        long column = (e.BytePositionInLine ?? 0) + 1;
        if (e.LineNumber is { } lineIndex && e.BytePositionInLine is { } bytePosition)
        {
            int start = 0;
            for (long l = 0; l < lineIndex && start < utf8.Length; l++)
            {
                int next = utf8[start..].IndexOf((byte)'\n');
                start = next < 0 ? utf8.Length : start + next + 1;
            }

            int length = (int)Math.Min(bytePosition, utf8.Length - start);
            column = Encoding.UTF8.GetCharCount(utf8.Slice(start, length)) + 1;
        }

        string reason = e.Message;
        int suffix = reason.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (suffix >= 0)
        {
            reason = reason[..suffix];
        }

        // Advice aimed at the programmer, not at the author of the file.
        reason = reason.Replace(" Change the reader options.", string.Empty, StringComparison.Ordinal);

        return new VirtualMachineConfigException(
            "$",
            string.Create(CultureInfo.InvariantCulture, $"malformed JSON at line {line}, column {column}: {reason}"),
            e);
    }
}
