namespace Virtualization.Core.Tests.Config;

/// <summary>
/// Behaviour of the configuration file reader (src/Virtualization.Core/Config/ConfigFileReader.cs) that mutation testing
/// found unasserted (docs/testing.md, "Mutation testing"): null handling, paths left for the service, field indexes,
/// the position and wording of JSON syntax errors, and the exact message of every refusal.
/// </summary>
public sealed class ConfigFileReaderMutationTests
{
    private const string Base = "/srv/vms";

    private static VirtualMachineRawConfig Parse(string json) => VirtualMachineConfigFile.Parse(json, Base);

    /// <summary>Asserts the refusal names <paramref name="field"/> and says exactly <paramref name="reason"/>.</summary>
    private static VirtualMachineConfigException Refused(string json, string field, string reason)
    {
        Action act = () => Parse(json);
        VirtualMachineConfigException e = act.Should().Throw<VirtualMachineConfigException>().Which;
        e.Field.Should().Be(field);
        e.ParamName.Should().Be(field);
        e.Message.Should().Be($"Invalid VM configuration: {field}: {reason} (Parameter '{field}')");
        return e;
    }

    // --- null handling -----------------------------------------------------------------------------------------------

    [Fact]
    public void Parse_DisksNull_IsRefused_UnlikeOtherNullFields()
    {
        Refused("""{ "kernel": "k", "disks": null }""", "disks", "must be an array of disk objects, not null.");
    }

    [Fact]
    public void Parse_DiskImageNull_IsNoImage()
    {
        VirtualMachineRawConfig config = Parse(
            """{ "kernel": "k", "disks": [ { "image": null, "partitions": [ { "label": "a", "path": "a.img" } ], "writable": true } ] }""");

        config.Disks.Should().ContainSingle();
        config.Disks[0].Image.Should().BeNull();
        config.Disks[0].Partitions.Should().Equal(new Partition("a", "/srv/vms/a.img", false));
    }

    [Fact]
    public void Parse_DiskPartitionsNull_IsNoPartitions()
    {
        VirtualMachineRawConfig config = Parse("""{ "kernel": "k", "disks": [ { "image": "a.img", "partitions": null, "writable": false } ] }""");

        config.Disks.Should().ContainSingle();
        config.Disks[0].Image.Should().Be("/srv/vms/a.img");
        config.Disks[0].Partitions.Should().BeEmpty();
        config.Disks[0].Writable.Should().BeFalse();
    }

    [Theory]
    [InlineData("""{ "kernel": "k", "disks": [ { "image": "a.img", "writable": null } ] }""", "disks[0].writable", "must be true or false, not null.")]
    [InlineData("""{ "kernel": "k", "disks": [ null ] }""", "disks[0]", "must be a disk object, not null.")]
    [InlineData("""{ "kernel": "k", "disks": [ { "partitions": [ null ], "writable": true } ] }""", "disks[0].partitions[0]", "must be a partition object, not null.")]
    [InlineData("""{ "kernel": "k", "disks": [ { "partitions": [ { "label": null, "path": "a" } ], "writable": true } ] }""", "disks[0].partitions[0].label", "must be a string, not null.")]
    public void Parse_NullWhereAValueIsRequired_IsRefused(string json, string field, string reason)
    {
        Refused(json, field, reason);
    }

    [Fact]
    public void Parse_PayloadChannelFieldsNull_AreTheDefaults()
    {
        VirtualMachineRawConfig config = Parse(
            """{ "kernel": "k", "payload_channel": { "transport": null, "stdio": null, "start_timeout_ms": null } }""");

        config.PayloadChannel.Should().Be(new PayloadChannelOptions { Transport = PayloadTransport.Serial, Stdio = false, StartTimeout = null });
    }

    // --- paths ---------------------------------------------------------------------------------------------------------

    [Fact]
    public void Parse_EmptyPath_IsLeftEmptyForTheServiceToRefuse()
    {
        VirtualMachineRawConfig config = Parse(
            """{ "kernel": "", "disks": [ { "partitions": [ { "label": "a", "path": "" } ], "writable": true } ] }""");

        config.Kernel.Should().Be(string.Empty);
        config.Disks[0].Partitions[0].Image.Should().Be(string.Empty);
    }

    [Fact]
    public void Parse_PathWithANulCharacter_IsLeftAsWrittenForTheServiceToRefuse()
    {
        VirtualMachineRawConfig config = Parse("""{ "kernel": "boot/vm\u0000linuz", "initrd": "../x\u0000" }""");

        config.Kernel.Should().Be("boot/vm\0linuz");
        config.Initrd.Should().Be("../x\0");
    }

    [Fact]
    public void Parse_PathsAreNormalised()
    {
        VirtualMachineRawConfig config = Parse("""{ "kernel": "a/./b/../vmlinuz", "bootloader": "/x/../y/u-boot" }""");

        config.Kernel.Should().Be("/srv/vms/a/vmlinuz");
        config.Bootloader.Should().Be("/y/u-boot");
    }

    // --- ignored Android fields ----------------------------------------------------------------------------------------

    [Fact]
    public void Parse_IgnoredStringArray_NamesTheIndexOfAWrongItem()
    {
        Refused("""{ "kernel": "k", "devices": [ "/dev/a", "/dev/b", 3 ] }""", "devices[2]", "must be a string, not the number 3.");
    }

    [Fact]
    public void Parse_IgnoredStringArray_NotAnArray_IsRefused()
    {
        Refused("""{ "kernel": "k", "devices": "/dev/a" }""", "devices", "must be an array of strings, not the string \"/dev/a\".");
    }

    [Theory]
    [InlineData("1")]
    [InlineData("65535")]
    public void Parse_GdbPort_InRange_IsIgnored(string port)
    {
        VirtualMachineConfigFile.Parse($$"""{ "kernel": "k", "gdb_port": {{port}} }""", Base, out IReadOnlyList<string> ignored);

        ignored.Should().Equal("gdb_port");
    }

    [Theory]
    [InlineData("0", "the number 0")]
    [InlineData("65536", "the number 65536")]
    [InlineData("-1", "the number -1")]
    [InlineData("80.5", "the number 80.5")]
    [InlineData("\"1234\"", "the string \"1234\"")]
    [InlineData("true", "true")]
    public void Parse_GdbPort_OutOfRange_IsRefused(string port, string described)
    {
        Refused($$"""{ "kernel": "k", "gdb_port": {{port}} }""", "gdb_port", $"must be a port number from 1 to 65535, not {described}.");
    }

    [Theory]
    [InlineData("""{ "kernel": "k", "name": 3 }""", "name", "must be a string, not the number 3.")]
    [InlineData("""{ "kernel": "k", "platform_version": ["1.0"] }""", "platform_version", "must be a string, not an array.")]
    [InlineData("""{ "kernel": "k", "console_input_device": {} }""", "console_input_device", "must be a string, not an object.")]
    [InlineData("""{ "kernel": "k", "hugepages": "yes" }""", "hugepages", "must be true or false, not the string \"yes\".")]
    [InlineData("""{ "kernel": "k", "boost_uclamp": 1 }""", "boost_uclamp", "must be true or false, not the number 1.")]
    public void Parse_IgnoredFieldOfTheWrongType_IsRefused(string json, string field, string reason)
    {
        Refused(json, field, reason);
    }

    [Fact]
    public void Parse_UnknownTopLevelField_ListsTheKnownOnes()
    {
        Refused(
            """{ "kernel": "k", "memory": 256 }""",
            "memory",
            "is not a known configuration field (known: kernel, initrd, params, bootloader, disks, protected, memory_mib, cpus, "
            + "cpu_topology, payload_channel, and the ignored name, platform_version, console_input_device, devices, hugepages, "
            + "gdb_port, boost_uclamp).");
    }

    // --- payload_channel -----------------------------------------------------------------------------------------------

    [Fact]
    public void Parse_PayloadTransportSerial_IsSerial()
    {
        VirtualMachineRawConfig config = Parse("""{ "kernel": "k", "payload_channel": { "transport": "serial", "stdio": true } }""");

        config.PayloadChannel.Should().Be(new PayloadChannelOptions { Transport = PayloadTransport.Serial, Stdio = true });
    }

    [Fact]
    public void Parse_PayloadTransportVsock_IsVsock()
    {
        Parse("""{ "kernel": "k", "payload_channel": { "transport": "vsock" } }""")
            .PayloadChannel.Should().Be(new PayloadChannelOptions { Transport = PayloadTransport.Vsock });
    }

    [Fact]
    public void Parse_PayloadStartTimeoutZero_MeansNoWatchdog()
    {
        Parse("""{ "kernel": "k", "payload_channel": { "start_timeout_ms": 0 } }""")
            .PayloadChannel!.StartTimeout.Should().Be(Timeout.InfiniteTimeSpan);
    }

    [Fact]
    public void Parse_PayloadStartTimeoutOne_IsOneMillisecond()
    {
        Parse("""{ "kernel": "k", "payload_channel": { "start_timeout_ms": 1 } }""")
            .PayloadChannel!.StartTimeout.Should().Be(TimeSpan.FromMilliseconds(1));
    }

    [Fact]
    public void Parse_PayloadStartTimeout_LargestValue_IsAccepted()
    {
        Parse("""{ "kernel": "k", "payload_channel": { "start_timeout_ms": 2147483647 } }""")
            .PayloadChannel!.StartTimeout.Should().Be(TimeSpan.FromMilliseconds(2147483647));
    }

    [Theory]
    [InlineData("""{ "transport": "Serial" }""", "payload_channel.transport", "'Serial' is not a transport; use \"serial\" or \"vsock\".")]
    [InlineData("""{ "transport": 1 }""", "payload_channel.transport", "must be a string, not the number 1.")]
    [InlineData("""{ "stdio": "yes" }""", "payload_channel.stdio", "must be true or false, not the string \"yes\".")]
    [InlineData("""{ "start_timeout_ms": -1 }""", "payload_channel.start_timeout_ms", "must be a number of milliseconds from 0 (no watchdog) to 2^31-1, not the number -1.")]
    [InlineData("""{ "start_timeout_ms": 2147483648 }""", "payload_channel.start_timeout_ms", "must be a number of milliseconds from 0 (no watchdog) to 2^31-1, not the number 2147483648.")]
    [InlineData("""{ "start_timeout_ms": 1.5 }""", "payload_channel.start_timeout_ms", "must be a number of milliseconds from 0 (no watchdog) to 2^31-1, not the number 1.5.")]
    [InlineData("""{ "start_timeout_ms": "1500" }""", "payload_channel.start_timeout_ms", "must be a number of milliseconds from 0 (no watchdog) to 2^31-1, not the string \"1500\".")]
    [InlineData("""{ "port": 5000 }""", "payload_channel.port", "is not a known payload_channel field (known: transport, stdio, start_timeout_ms).")]
    [InlineData("""{ "stdio": true, "stdio": false }""", "payload_channel.stdio", "appears more than once.")]
    [InlineData("\"serial\"", "payload_channel", "must be true, false or an object with transport, stdio and start_timeout_ms, not the string \"serial\".")]
    [InlineData("1", "payload_channel", "must be true, false or an object with transport, stdio and start_timeout_ms, not the number 1.")]
    [InlineData("[]", "payload_channel", "must be true, false or an object with transport, stdio and start_timeout_ms, not an array.")]
    public void Parse_BadPayloadChannel_SaysWhatIsWrong(string payload, string field, string reason)
    {
        Refused($$"""{ "kernel": "k", "payload_channel": {{payload}} }""", field, reason);
    }

    // --- vCPUs and numbers ---------------------------------------------------------------------------------------------

    [Fact]
    public void Parse_CpuTopologyThenCpus_IsRefusedAsGivenTwice()
    {
        Refused("""{ "kernel": "k", "cpu_topology": "one_cpu", "cpus": 2 }""", "cpus", "conflicts with 'cpu_topology': give the vCPU count only once.");
    }

    [Fact]
    public void Parse_UnknownCpuTopology_SaysWhichAreKnown()
    {
        Refused("""{ "kernel": "k", "cpu_topology": "two_cpus" }""", "cpu_topology", "'two_cpus' is not a CPU topology; use \"one_cpu\" or \"match_host\".");
    }

    [Theory]
    [InlineData("memory_mib", "0", "must be a positive integer, not 0 (omit the field for the default).")]
    [InlineData("cpus", "-3", "must be a positive integer, not -3 (omit the field for the default).")]
    [InlineData("cpus", "true", "must be a positive integer, not true.")]
    [InlineData("memory_mib", "\"256\"", "must be a positive integer, not the string \"256\".")]
    [InlineData("cpus", "2147483648", "must be a positive integer below 2^31, not 2147483648.")]
    public void Parse_BadPositiveInteger_SaysWhatIsWrong(string field, string value, string reason)
    {
        Refused($$"""{ "kernel": "k", "{{field}}": {{value}} }""", field, reason);
    }

    [Fact]
    public void Parse_LargestPositiveIntegers_AreAccepted()
    {
        VirtualMachineRawConfig config = Parse("""{ "kernel": "k", "memory_mib": 2147483647, "cpus": 1 }""");

        config.MemoryMib.Should().Be(2147483647);
        config.CpuCount.Should().Be(1);
    }

    // --- wrong types and unknown fields: exact messages ----------------------------------------------------------------

    [Theory]
    [InlineData("""{ "kernel": 5 }""", "kernel", "must be a string, not the number 5.")]
    [InlineData("""{ "kernel": {} }""", "kernel", "must be a string, not an object.")]
    [InlineData("""{ "kernel": [] }""", "kernel", "must be a string, not an array.")]
    [InlineData("""{ "kernel": true }""", "kernel", "must be a string, not true.")]
    [InlineData("""{ "kernel": false }""", "kernel", "must be a string, not false.")]
    [InlineData("""{ "kernel": "k", "params": 1e3 }""", "params", "must be a string, not the number 1e3.")]
    [InlineData("""{ "kernel": "k", "protected": "yes" }""", "protected", "must be true or false, not the string \"yes\".")]
    [InlineData("""{ "kernel": "k", "disks": {} }""", "disks", "must be an array of disk objects, not an object.")]
    [InlineData("""{ "kernel": "k", "disks": [ "a.img" ] }""", "disks[0]", "must be a disk object, not the string \"a.img\".")]
    [InlineData("""{ "kernel": "k", "disks": [ { "partitions": {}, "writable": true } ] }""", "disks[0].partitions", "must be an array of partition objects, not an object.")]
    [InlineData("""{ "kernel": "k", "disks": [ { "partitions": [ "a.img" ], "writable": true } ] }""", "disks[0].partitions[0]", "must be a partition object, not the string \"a.img\".")]
    [InlineData("""{ "kernel": "k", "disks": [ { "image": 1, "writable": true } ] }""", "disks[0].image", "must be a string, not the number 1.")]
    public void Parse_WrongJsonType_SaysWhatWasExpectedAndWhatWasFound(string json, string field, string reason)
    {
        Refused(json, field, reason);
    }

    [Theory]
    [InlineData("""{ "kernel": "k", "disks": [ { "imgae": "a.img", "writable": true } ] }""", "disks[0].imgae", "is not a known disk field (known: image, partitions, writable).")]
    [InlineData("""{ "kernel": "k", "disks": [ { "partitions": [ { "label": "a", "path": "a", "rw": true } ], "writable": true } ] }""", "disks[0].partitions[0].rw", "is not a known partition field (known: label, path, writable).")]
    [InlineData("""{ "kernel": "k", "disks": [ { "image": "a.img" } ] }""", "disks[0].writable", "is required: say whether the guest may write to the disk (true or false).")]
    [InlineData("""{ "kernel": "a", "kernel": "b" }""", "kernel", "appears more than once.")]
    [InlineData("""{ "kernel": "k", "disks": [ { "image": "a.img", "writable": true }, { "writable": true, "writable": false } ] }""", "disks[1].writable", "appears more than once.")]
    public void Parse_UnknownMissingOrRepeatedField_SaysSo(string json, string field, string reason)
    {
        Refused(json, field, reason);
    }

    [Fact]
    public void Parse_PartitionWritableFalse_IsReadOnly()
    {
        VirtualMachineRawConfig config = Parse(
            """{ "kernel": "k", "disks": [ { "writable": true, "partitions": [ { "label": "a", "path": "/a.img", "writable": false } ] } ] }""");

        config.Disks[0].Partitions.Should().Equal(new Partition("a", "/a.img", false));
    }

    [Theory]
    [InlineData("[]", "an array")]
    [InlineData("\"kernel\"", "a string")]
    [InlineData("5", "a number")]
    [InlineData("true", "true")]
    [InlineData("false", "false")]
    [InlineData("null", "null")]
    public void Parse_RootNotAnObject_SaysWhatItIs(string json, string described)
    {
        Refused(json, "$", $"the configuration must be a JSON object, not {described}.");
    }

    // --- JSON syntax errors --------------------------------------------------------------------------------------------

    [Fact]
    public void Parse_SyntaxErrorOnALaterLine_CountsCharactersFromThatLinesStart()
    {
        // Line 3 is `  "params": "é" x`: 'x' is byte 17 of the line but character 16 (é is two bytes), so column 17. The
        // lines before it are ASCII, so starting the count anywhere else gives another column.
        VirtualMachineConfigException e = Refused(
            "{\n  \"kernel\": \"k\",\n  \"params\": \"é\" x\n}",
            "$",
            "malformed JSON at line 3, column 17: 'x' is invalid after a value. Expected either ',', '}', or ']'.");

        e.InnerException.Should().BeAssignableTo<System.Text.Json.JsonException>();
    }

    [Fact]
    public void Parse_SyntaxErrorAfterABlankLine_CountsTheBlankLine()
    {
        Refused(
            "{\n\n  oops\n}",
            "$",
            "malformed JSON at line 3, column 3: 'o' is an invalid start of a property name. Expected a '\"'.");
    }

    [Fact]
    public void Parse_SyntaxErrorOnTheFirstLine_StripsTheReadersPositionSuffix()
    {
        Refused(
            "{ \"kernel\" \"k\" }",
            "$",
            "malformed JSON at line 1, column 12: '\"' is invalid after a property name. Expected a ':'.");
    }

    [Fact]
    public void Parse_TrailingComma_DropsTheAdviceAboutReaderOptions()
    {
        Refused(
            "{ \"kernel\": \"k\", }",
            "$",
            "malformed JSON at line 1, column 18: The JSON object contains a trailing comma at the end which is not supported in this mode.");
    }
}
