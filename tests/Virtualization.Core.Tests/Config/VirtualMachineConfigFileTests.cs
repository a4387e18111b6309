using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Config;

public sealed class VirtualMachineConfigFileTests
{
    private const string Base = "/srv/vms";

    private static VirtualMachineRawConfig Parse(string json) => VirtualMachineConfigFile.Parse(json, Base);

    private static VirtualMachineConfigException ParseFails(string json)
    {
        Action act = () => Parse(json);
        return act.Should().Throw<VirtualMachineConfigException>().Which;
    }

    [Fact]
    public void Parse_MapsEveryField_AndResolvesRelativePathsAgainstTheBaseFolder()
    {
        VirtualMachineRawConfig config = Parse("""
            {
              "kernel": "boot/vmlinuz",
              "initrd": "/abs/initrd.img",
              "params": "console=hvc0 quiet",
              "protected": true,
              "memory_mib": 512,
              "cpus": 3,
              "disks": [
                { "image": "rootfs.img", "writable": true },
                { "partitions": [
                    { "label": "vbmeta_a", "path": "vbmeta.img" },
                    { "label": "data", "path": "../data.img", "writable": true }
                  ],
                  "writable": false }
              ]
            }
            """);

        config.Kernel.Should().Be("/srv/vms/boot/vmlinuz");
        config.Initrd.Should().Be("/abs/initrd.img");
        config.Params.Should().Be("console=hvc0 quiet");
        config.Bootloader.Should().BeNull();
        config.Protected.Should().BeTrue();
        config.MemoryMib.Should().Be(512);
        config.CpuCount.Should().Be(3);
        config.Disks.Should().HaveCount(2);
        config.Disks[0].Should().BeEquivalentTo(new DiskImage("/srv/vms/rootfs.img", true, []));
        config.Disks[1].Image.Should().BeNull();
        config.Disks[1].Writable.Should().BeFalse();
        config.Disks[1].Partitions.Should().Equal(
            new Partition("vbmeta_a", "/srv/vms/vbmeta.img", false),
            new Partition("data", "/srv/data.img", true));
    }

    [Fact]
    public void Parse_Bootloader_AndDefaults()
    {
        VirtualMachineRawConfig config = Parse("""{ "bootloader": "u-boot.bin" }""");

        config.Bootloader.Should().Be("/srv/vms/u-boot.bin");
        config.Kernel.Should().BeNull();
        config.Disks.Should().BeEmpty();
        config.Protected.Should().BeFalse();
        config.MemoryMib.Should().Be(0);
        config.CpuCount.Should().Be(0);
    }

    [Fact]
    public void Parse_NullOptionalFields_CountAsAbsent()
    {
        VirtualMachineRawConfig config = Parse("""{ "kernel": "k", "initrd": null, "memory_mib": null, "name": null }""");

        config.Initrd.Should().BeNull();
        config.MemoryMib.Should().Be(0);
    }

    [Fact]
    public void Parse_PartitionWritable_DefaultsToFalse()
    {
        VirtualMachineRawConfig config = Parse("""{ "kernel": "k", "disks": [ { "partitions": [ { "label": "a", "path": "a.img" } ], "writable": true } ] }""");

        config.Disks[0].Partitions[0].Writable.Should().BeFalse();
        config.Disks[0].Writable.Should().BeTrue();
    }

    [Fact]
    public void Parse_DiskWithoutWritable_IsAnErrorNamingTheField()
    {
        VirtualMachineConfigException e = ParseFails("""{ "kernel": "k", "disks": [ { "image": "a.img", "writable": false }, { "image": "b.img" } ] }""");

        e.Field.Should().Be("disks[1].writable");
        e.Message.Should().Contain("required");
    }

    [Theory]
    [InlineData("""{ "kernal": "k" }""", "kernal")]
    [InlineData("""{ "kernel": "k", "memory": 256 }""", "memory")]
    [InlineData("""{ "kernel": "k", "disks": [ { "imgae": "a.img", "writable": true } ] }""", "disks[0].imgae")]
    [InlineData("""{ "kernel": "k", "disks": [ { "partitions": [ { "label": "a", "path": "a", "rw": true } ], "writable": true } ] }""", "disks[0].partitions[0].rw")]
    public void Parse_UnknownField_IsAnErrorNamingIt(string json, string field)
    {
        VirtualMachineConfigException e = ParseFails(json);

        e.Field.Should().Be(field);
        e.Message.Should().Contain(field).And.Contain("not a known");
    }

    [Fact]
    public void Parse_KnownAndroidFields_AreAcceptedAndReportedAsIgnored()
    {
        VirtualMachineRawConfig config = VirtualMachineConfigFile.Parse(
            """
            {
              "name": "test-vm",
              "kernel": "k",
              "platform_version": "~1.0",
              "console_input_device": "hvc0",
              "devices": [ "/sys/bus/platform/devices/16d00000.eh" ],
              "hugepages": true,
              "gdb_port": 1234,
              "boost_uclamp": false
            }
            """,
            Base,
            out IReadOnlyList<string> ignored);

        config.Kernel.Should().Be("/srv/vms/k");
        ignored.Should().Equal("name", "platform_version", "console_input_device", "devices", "hugepages", "gdb_port", "boost_uclamp");
    }

    [Fact]
    public void Parse_NoIgnoredFields_GivesAnEmptyList()
    {
        VirtualMachineConfigFile.Parse("""{ "kernel": "k" }""", Base, out IReadOnlyList<string> ignored);

        ignored.Should().BeEmpty();
    }

    [Fact]
    public void Parse_CpuTopology_OneCpu_IsOneVcpu()
    {
        Parse("""{ "kernel": "k", "cpu_topology": "one_cpu" }""").CpuCount.Should().Be(1);
    }

    [Fact]
    public void Parse_CpuTopology_MatchHost_IsTheHostsProcessorCount()
    {
        Parse("""{ "kernel": "k", "cpu_topology": "match_host" }""").CpuCount.Should().Be(Environment.ProcessorCount);
    }

    [Fact]
    public void Parse_CpuTopology_UnknownValue_IsAnError()
    {
        VirtualMachineConfigException e = ParseFails("""{ "kernel": "k", "cpu_topology": "two_cpus" }""");

        e.Field.Should().Be("cpu_topology");
        e.Message.Should().Contain("one_cpu").And.Contain("match_host");
    }

    [Fact]
    public void Parse_CpusAndCpuTopologyTogether_IsAnError()
    {
        ParseFails("""{ "kernel": "k", "cpus": 2, "cpu_topology": "one_cpu" }""").Field.Should().Be("cpu_topology");
    }

    [Theory]
    [InlineData("""{ "kernel": 5 }""", "kernel", "string")]
    [InlineData("""{ "kernel": "k", "params": ["a"] }""", "params", "string")]
    [InlineData("""{ "kernel": "k", "protected": "yes" }""", "protected", "true or false")]
    [InlineData("""{ "kernel": "k", "memory_mib": "256" }""", "memory_mib", "integer")]
    [InlineData("""{ "kernel": "k", "cpus": true }""", "cpus", "integer")]
    [InlineData("""{ "kernel": "k", "disks": {} }""", "disks", "array")]
    [InlineData("""{ "kernel": "k", "disks": [ "a.img" ] }""", "disks[0]", "disk object")]
    [InlineData("""{ "kernel": "k", "disks": [ { "image": "a", "writable": "no" } ] }""", "disks[0].writable", "true or false")]
    [InlineData("""{ "kernel": "k", "disks": [ { "partitions": {}, "writable": true } ] }""", "disks[0].partitions", "array")]
    [InlineData("""{ "kernel": "k", "disks": [ { "partitions": [ { "label": 1, "path": "a" } ], "writable": true } ] }""", "disks[0].partitions[0].label", "string")]
    [InlineData("""{ "kernel": "k", "name": 3 }""", "name", "string")]
    [InlineData("""{ "kernel": "k", "devices": [ 1 ] }""", "devices[0]", "string")]
    [InlineData("""{ "kernel": "k", "hugepages": 1 }""", "hugepages", "true or false")]
    [InlineData("""{ "kernel": "k", "gdb_port": "1234" }""", "gdb_port", "port")]
    public void Parse_WrongJsonType_IsAnErrorNamingTheField(string json, string field, string expected)
    {
        VirtualMachineConfigException e = ParseFails(json);

        e.Field.Should().Be(field);
        e.Message.Should().Contain(expected);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("1.5")]
    [InlineData("4294967296")]
    public void Parse_MemoryMib_MustBeAPositiveInteger(string value)
    {
        ParseFails($$"""{ "kernel": "k", "memory_mib": {{value}} }""").Field.Should().Be("memory_mib");
    }

    [Fact]
    public void Parse_MissingPartitionLabelOrPath_IsAnError()
    {
        ParseFails("""{ "kernel": "k", "disks": [ { "partitions": [ { "path": "a" } ], "writable": true } ] }""")
            .Field.Should().Be("disks[0].partitions[0].label");
        ParseFails("""{ "kernel": "k", "disks": [ { "partitions": [ { "label": "a" } ], "writable": true } ] }""")
            .Field.Should().Be("disks[0].partitions[0].path");
    }

    [Fact]
    public void Parse_DuplicateField_IsAnError()
    {
        ParseFails("""{ "kernel": "a", "kernel": "b" }""").Field.Should().Be("kernel");
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("\"kernel\"")]
    public void Parse_RootNotAnObject_IsAnError(string json)
    {
        ParseFails(json).Message.Should().Contain("JSON object");
    }

    [Fact]
    public void Parse_MalformedJson_ReportsOneBasedLineAndColumn()
    {
        VirtualMachineConfigException e = ParseFails("{\n  \"kernel\": \"k\",\n  oops\n}");

        e.Message.Should().Contain("line 3, column 3");
        e.Message.Should().NotContain("LineNumber");
    }

    [Fact]
    public void Parse_MalformedJson_CountsColumnsInCharacters()
    {
        // "é" is two UTF-8 bytes but one column.
        VirtualMachineConfigException e = ParseFails("{ \"params\": \"é\" x }");

        e.Message.Should().Contain("line 1, column 17");
    }

    [Fact]
    public void Parse_TrailingComma_IsMalformed()
    {
        ParseFails("{ \"kernel\": \"k\", }").Message.Should().Contain("line 1");
    }

    [Fact]
    public void Parse_CommentsAreAllowed()
    {
        Parse("{ // the kernel\n \"kernel\": \"k\" /* end */ }").Kernel.Should().Be("/srv/vms/k");
    }

    [Fact]
    public void Load_ResolvesRelativePathsAgainstTheFilesFolder_NotTheWorkingDirectory()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("cfg"));
        string path = dir.File("cfg/vm.json");
        File.WriteAllText(path, """{ "kernel": "vmlinuz", "disks": [ { "image": "../disk.img", "writable": false } ] }""");

        VirtualMachineRawConfig config = VirtualMachineConfigFile.Load(path);

        config.Kernel.Should().Be(dir.File("cfg/vmlinuz"));
        config.Disks[0].Image.Should().Be(dir.File("disk.img"));
    }

    [Fact]
    public void Load_MissingReferencedFiles_AreNotAnError()
    {
        using var dir = new TempDir();
        string path = dir.File("vm.json");
        File.WriteAllText(path, """{ "kernel": "nope/vmlinuz", "initrd": "nope/initrd" }""");

        VirtualMachineRawConfig config = VirtualMachineConfigFile.Load(path);

        File.Exists(config.Kernel).Should().BeFalse();
        config.Kernel.Should().Be(dir.File("nope/vmlinuz"));
    }

    [Fact]
    public void Load_SkipsAUtf8ByteOrderMark()
    {
        using var dir = new TempDir();
        string path = dir.File("vm.json");
        File.WriteAllBytes(path, [0xEF, 0xBB, 0xBF, .. "{ \"kernel\": \"k\" }"u8]);

        VirtualMachineConfigFile.Load(path).Kernel.Should().Be(dir.File("k"));
    }

    [Fact]
    public void Load_MissingConfigFile_ThrowsFileNotFound()
    {
        using var dir = new TempDir();
        Action act = () => VirtualMachineConfigFile.Load(dir.File("absent.json"));

        act.Should().Throw<FileNotFoundException>();
    }

    [Fact]
    public void Load_AndroidMicrodroidStyleConfig()
    {
        using var dir = new TempDir();
        string path = dir.File("microdroid.json");
        File.WriteAllText(path, """
            {
              "kernel": "/apex/com.android.virt/etc/fs/microdroid_kernel",
              "disks": [
                {
                  "partitions": [
                    {
                      "label": "vbmeta_a",
                      "path": "/apex/com.android.virt/etc/fs/microdroid_vbmeta.img"
                    },
                    {
                      "label": "super",
                      "path": "/apex/com.android.virt/etc/fs/microdroid_super.img"
                    }
                  ],
                  "writable": false
                }
              ],
              "memory_mib": 256,
              "console_input_device": "hvc0",
              "platform_version": "~1.0"
            }
            """);

        VirtualMachineRawConfig config = VirtualMachineConfigFile.Load(path, out IReadOnlyList<string> ignored);

        config.Kernel.Should().Be("/apex/com.android.virt/etc/fs/microdroid_kernel");
        config.MemoryMib.Should().Be(256);
        config.Disks.Should().ContainSingle();
        config.Disks[0].Writable.Should().BeFalse();
        config.Disks[0].Partitions.Select(p => p.Label).Should().Equal("vbmeta_a", "super");
        config.Disks[0].Partitions.Should().OnlyContain(p => !p.Writable);
        ignored.Should().Equal("console_input_device", "platform_version");
    }

    // Mutation testing (docs/testing.md) found these behaviours of the reader unasserted.

    [Fact]
    public void Parse_CpusThenCpuTopology_IsRefusedAsGivenTwice()
    {
        VirtualMachineConfigException e = ParseFails("""{ "kernel": "k", "cpus": 2, "cpu_topology": "one_cpu_per_cluster" }""");

        e.Field.Should().Be("cpu_topology");
        e.Message.Should().Contain("conflicts with 'cpus': give the vCPU count only once.");
    }

    [Fact]
    public void Parse_SecondPartitionWithoutLabel_NamesItsIndex()
    {
        VirtualMachineConfigException e = ParseFails(
            """{ "kernel": "k", "disks": [ { "partitions": [ { "label": "a", "path": "a.img" }, { "path": "b.img" } ] } ] }""");

        e.Field.Should().Be("disks[0].partitions[1].label");
        e.Message.Should().Contain("is required: the GPT partition name.");
    }

    [Fact]
    public void Parse_PartitionWithoutPath_IsRefused()
    {
        VirtualMachineConfigException e = ParseFails("""{ "kernel": "k", "disks": [ { "partitions": [ { "label": "a" } ] } ] }""");

        e.Field.Should().Be("disks[0].partitions[0].path");
        e.Message.Should().Contain("is required: the file that backs the partition.");
    }

    [Fact]
    public void Parse_PartitionWritableNull_IsReadOnly_AndTrueIsWritable()
    {
        VirtualMachineRawConfig config = Parse(
            """{ "kernel": "k", "disks": [ { "writable": false, "partitions": [ { "label": "a", "path": "/a.img", "writable": null }, { "label": "b", "path": "/b.img", "writable": true } ] } ] }""");

        config.Disks.Should().ContainSingle().Which.Partitions.Select(p => p.Writable).Should().Equal(false, true);
    }

    [Fact]
    public void Parse_MemoryAbove2To31_SaysSo()
    {
        VirtualMachineConfigException e = ParseFails("""{ "kernel": "k", "memory_mib": 3000000000 }""");

        e.Field.Should().Be("memory_mib");
        e.Message.Should().Contain("must be a positive integer below 2^31, not 3000000000.");
    }

    [Theory]
    [InlineData("""{ "kernel": "k", "disks": [ { "image": "a.img", "image": "b.img", "writable": false } ] }""", "disks[0].image")]
    [InlineData("""{ "kernel": "k", "disks": [ { "writable": false, "partitions": [ { "label": "a", "label": "b", "path": "a.img" } ] } ] }""", "disks[0].partitions[0].label")]
    public void Parse_DuplicateKeyInANestedObject_IsRefused(string json, string field)
    {
        VirtualMachineConfigException e = ParseFails(json);

        e.Field.Should().Be(field);
        e.Message.Should().Contain("appears more than once.");
    }
}
