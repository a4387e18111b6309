using System.Globalization;
using FakeCrosvm.KeyValues;
using FakeCrosvm.Vm;
using KeyValueSet = FakeCrosvm.KeyValues.KeyValues;

namespace FakeCrosvm.Cli;

/// <summary>
/// Parses the arguments of <c>run</c> with argh's rules (values are always the next element, unknown
/// options and duplicates rejected) plus one deliberate restriction: KERNEL must be the last element.
/// </summary>
internal sealed class RunArgumentParser
{
    private static readonly OptionSpec[] s_options =
    [
        new("--disable-sandbox", null, OptionArity.Switch),
        new("--protected-vm", null, OptionArity.Switch),
        new("--protected-vm-without-firmware", null, OptionArity.Switch),
        new("--no-balloon", null, OptionArity.Switch),
        new("--no-rng", null, OptionArity.Switch),
        new("--no-usb", null, OptionArity.Switch),
        new("--suspended", null, OptionArity.Switch),
        new("--cid", null, OptionArity.Single),
        new("--vsock", null, OptionArity.Single),
        new("--mem", "-m", OptionArity.Single),
        new("--cpus", "-c", OptionArity.Single),
        new("--socket", "-s", OptionArity.Single),
        new("--initrd", "-i", OptionArity.Single),
        new("--bios", null, OptionArity.Single),
        new("--name", null, OptionArity.Single),
        new("--syslog-tag", null, OptionArity.Single),
        new("--android-fstab", null, OptionArity.Single),
        new("--balloon-bias-mib", null, OptionArity.Single),
        new("--host-ip", null, OptionArity.Single),
        new("--params", "-p", OptionArity.Repeated),
        new("--serial", null, OptionArity.Repeated),
        new("--block", "-b", OptionArity.Repeated),
        new("--disk", "-d", OptionArity.Repeated),
        new("--rwdisk", null, OptionArity.Repeated),
        new("--root", "-r", OptionArity.Repeated),
        new("--rwroot", null, OptionArity.Repeated),
    ];

    private readonly RunOptions _options;
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);

    private RunArgumentParser(RunOptions options) => _options = options;

    /// <summary>Parses <paramref name="args"/> (the elements after <c>run</c>) into <paramref name="options"/>.</summary>
    /// <returns><c>false</c> if help was requested (usage already printed).</returns>
    /// <exception cref="InvalidArgsException">The arguments violate the grammar.</exception>
    public static bool Parse(IReadOnlyList<string> args, RunOptions options) => new RunArgumentParser(options).ParseAll(args);

    private bool ParseAll(IReadOnlyList<string> args)
    {
        bool optionsEnded = false;
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];

            // Stricter than today's crosvm on purpose: the first positional (KERNEL) must be the last element,
            // so everything after it is an unwanted extra positional.
            if (_options.Kernel is not null)
            {
                throw new InvalidArgsException($"Unrecognized argument: {arg}");
            }

            if (!optionsEnded)
            {
                if (arg == "--")
                {
                    optionsEnded = true;
                    continue;
                }

                if (arg is "--help" or "help")
                {
                    Console.Out.WriteLine(Usage.Run);
                    return false;
                }

                if (arg.Length > 1 && arg[0] == '-')
                {
                    OptionSpec spec = Find(arg) ?? throw new InvalidArgsException($"Unrecognized argument: {arg}");
                    if (spec.Arity == OptionArity.Switch)
                    {
                        ApplySwitch(spec.Long);
                        continue;
                    }

                    if (i + 1 >= args.Count)
                    {
                        throw new InvalidArgsException($"No value provided for option '{arg}'.");
                    }

                    if (spec.Arity == OptionArity.Single && !_seen.Add(spec.Long))
                    {
                        throw new InvalidArgsException("duplicate values provided");
                    }

                    i++;
                    ApplyValue(spec.Long, arg, args[i]);
                    continue;
                }
            }

            _options.Kernel = arg;
        }

        return true;
    }

    private static OptionSpec? Find(string arg) =>
        Array.Find(s_options, o => o.Long == arg || (o.Short is not null && o.Short == arg));

    private void ApplySwitch(string name)
    {
        switch (name)
        {
            case "--disable-sandbox":
                _options.DisableSandbox = true;
                break;
            case "--protected-vm":
            case "--protected-vm-without-firmware":
                _options.ProtectedVm = true;
                break;
            case "--no-balloon":
                _options.NoBalloon = true;
                break;
            default:
                break; // accepted, no effect on the fake
        }
    }

    private void ApplyValue(string name, string spelled, string value)
    {
        try
        {
            switch (name)
            {
                case "--cid":
                    _options.Cid = ParseUnsigned(value);
                    _options.Warnings.Add("`--cid` is deprecated; use `--vsock` instead");
                    break;
                case "--vsock":
                    _options.VsockCid = KeyValueParser.Parse(value, Schemas.Vsock).GetNumber("cid");
                    break;
                case "--mem":
                    _options.MemoryMib = KeyValueParser.Parse(value, Schemas.Memory).GetNumber("size") ?? 256;
                    break;
                case "--cpus":
                    _options.Cpus = KeyValueParser.Parse(value, Schemas.Cpus).GetNumber("num-cores") ?? 1;
                    break;
                case "--socket":
                    _options.Socket = value;
                    break;
                case "--initrd":
                    _options.Initrd = value;
                    break;
                case "--bios":
                    _options.Bios = value;
                    break;
                case "--name":
                    _options.Name = value;
                    break;
                case "--syslog-tag":
                    _options.Warnings.Add("`crosvm run --syslog-tag` is deprecated; use `crosvm --syslog-tag=\"tag\" run` instead");
                    break;
                case "--balloon-bias-mib":
                    _ = ParseUnsigned(value);
                    break;
                case "--params":
                    _options.Params.Add(value);
                    break;
                case "--serial":
                    _options.Serials.Add(ToSerial(KeyValueParser.Parse(value, Schemas.Serial)));
                    break;
                case "--block":
                case "--disk":
                case "--rwdisk":
                case "--root":
                case "--rwroot":
                    _options.Disks.Add(ToDisk(name, KeyValueParser.Parse(value, Schemas.Block)));
                    if (name != "--block")
                    {
                        _options.Warnings.Add($"the `{name}` option is deprecated; use `--block` instead");
                    }

                    break;
                default:
                    break; // accepted, value unused by the fake
            }
        }
        catch (Exception e) when (e is KeyValueSyntaxException or FormatException)
        {
            throw new InvalidArgsException($"Error parsing option '{spelled}' with value '{value}': {e.Message}", e);
        }
    }

    /// <summary>A plain Rust <c>u64</c> value: decimal digits only.</summary>
    private static long ParseUnsigned(string value)
    {
        if (value.Length == 0)
        {
            throw new FormatException("cannot parse integer from empty string");
        }

        if (!value.All(char.IsAsciiDigit) || !long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long result))
        {
            throw new FormatException("invalid digit found in string");
        }

        return result;
    }

    private static SerialOption ToSerial(KeyValueSet values) => new(
        Type: values.GetString("type") ?? "sink",
        Hardware: values.GetString("hardware") ?? "serial",
        Num: values.GetNumber("num") ?? 1,
        Path: values.GetString("path"),
        Input: values.GetString("input"),
        Console: values.GetBool("console") ?? false,
        Earlycon: values.GetBool("earlycon") ?? false,
        Stdin: values.GetBool("stdin") ?? false,
        InputUnixStream: values.GetBool("input-unix-stream") ?? false,
        Name: values.GetString("name"));

    private static DiskOption ToDisk(string option, KeyValueSet values)
    {
        string path = values.GetString("path")!;
        bool readOnly = values.GetBool("ro") ?? false;
        bool root = values.GetBool("root") ?? false;
        bool fileLock = values.GetBool("lock") ?? true;
        long blockSize = values.GetNumber("block-size") ?? 512;
        if (blockSize <= 0 || blockSize % 512 != 0)
        {
            throw new FormatException($"block-size {blockSize} is not a multiple of 512");
        }

        string? id = values.GetString("id");
        if (id is not null && (id.Length > 20 || !id.All(char.IsAscii)))
        {
            throw new FormatException("disk id must be at most 20 ASCII bytes");
        }

        (readOnly, root) = option switch
        {
            "--disk" => (true, false),
            "--rwdisk" => (false, false),
            "--root" => (true, true),
            "--rwroot" => (false, true),
            _ => (readOnly, root),
        };
        return new DiskOption(option, path, readOnly, root, fileLock);
    }
}
