using Microsoft.Extensions.Logging.Abstractions;
using Virtualization.Core.Crosvm;
using Virtualization.Core.Qemu;
using Virtualization.Core.Tests.Infrastructure;
using Virtualization.Core.Vmm;

namespace Virtualization.Core.Tests.Payload;

/// <summary>Opting in: the config field, the JSON extension, validation, and the VMM arguments it produces.</summary>
public sealed class PayloadConfigTests
{
    private static VirtualMachineRawConfig Parse(string payload) =>
        VirtualMachineConfigFile.Parse($$"""{ "kernel": "k", "payload_channel": {{payload}} }""", "/srv");

    [Fact]
    public void ConfigFile_PayloadChannel_TrueFalseAndObject()
    {
        Parse("true").PayloadChannel.Should().Be(new PayloadChannelOptions());
        Parse("false").PayloadChannel.Should().BeNull();
        Parse("null").PayloadChannel.Should().BeNull();
        VirtualMachineConfigFile.Parse("""{ "kernel": "k" }""", "/srv").PayloadChannel.Should().BeNull("no field, no channel");
        Parse("""{ "transport": "vsock", "stdio": true, "start_timeout_ms": 1500 }""").PayloadChannel.Should().Be(
            new PayloadChannelOptions { Transport = PayloadTransport.Vsock, Stdio = true, StartTimeout = TimeSpan.FromMilliseconds(1500) });
        Parse("""{ "start_timeout_ms": 0 }""").PayloadChannel!.StartTimeout.Should().Be(Timeout.InfiniteTimeSpan);
    }

    [Theory]
    [InlineData("\"serial\"", "payload_channel", "true, false or an object")]
    [InlineData("""{ "transport": "pipe" }""", "payload_channel.transport", "'pipe' is not a transport")]
    [InlineData("""{ "stdio": "yes" }""", "payload_channel.stdio", "true or false")]
    [InlineData("""{ "start_timeout_ms": -1 }""", "payload_channel.start_timeout_ms", "milliseconds")]
    [InlineData("""{ "start_timeout_ms": 1.5 }""", "payload_channel.start_timeout_ms", "milliseconds")]
    [InlineData("""{ "port": 5000 }""", "payload_channel.port", "known: transport, stdio, start_timeout_ms")]
    [InlineData("""{ "stdio": true, "stdio": false }""", "payload_channel.stdio", "more than once")]
    public void ConfigFile_BadPayloadChannel_NamesTheField(string payload, string field, string message)
    {
        Action parse = () => Parse(payload);
        VirtualMachineConfigException e = parse.Should().Throw<VirtualMachineConfigException>().Which;
        e.Field.Should().Be(field);
        e.Message.Should().Contain(message);
    }

    [Theory(Timeout = 30_000)]
    [InlineData(0)]
    [InlineData(-5)]
    public async Task CreateVm_InvalidStartTimeout_IsAConfigError(int milliseconds)
    {
        await using var h = new TestHarness();
        VirtualMachineRawConfig config = h.Config() with { PayloadChannel = new PayloadChannelOptions { StartTimeout = TimeSpan.FromMilliseconds(milliseconds) } };

        Func<Task> create = () => h.Service.CreateVmAsync(config);

        (await create.Should().ThrowAsync<VirtualMachineConfigException>()).Which.Field.Should().Be("PayloadChannel.StartTimeout");
        h.Service.HeldCidCount.Should().Be(0);
    }

    [Fact(Timeout = 30_000)]
    public async Task CreateVm_UndefinedTransport_IsAConfigError()
    {
        await using var h = new TestHarness();
        VirtualMachineRawConfig config = h.Config() with { PayloadChannel = new PayloadChannelOptions { Transport = (PayloadTransport)9 } };

        Func<Task> create = () => h.Service.CreateVmAsync(config);

        (await create.Should().ThrowAsync<VirtualMachineConfigException>()).Which.Field.Should().Be("PayloadChannel.Transport");
    }

    [Fact]
    public void Service_InvalidPayloadStartTimeout_IsRejected()
    {
        var options = new VirtualizationServiceOptions { PayloadStartTimeout = TimeSpan.Zero };
        Action create = () => _ = new VirtualizationService(options);
        create.Should().Throw<ArgumentException>().WithMessage("*PayloadStartTimeout*");
        new VirtualizationServiceOptions().PayloadStartTimeout.Should().Be(TimeSpan.FromSeconds(30), "Android's boot-hangup timeout");
    }

    [SkippableFact]
    public void Qemu_VsockTransportWithoutVhostVsock_IsAConfigError()
    {
        Skip.If(File.Exists("/dev/vhost-vsock"), "this host has /dev/vhost-vsock");
        var runner = new QemuRunner("qemu-system-x86_64", VmAcceleration.Tcg, TimeSpan.FromSeconds(1));
        Action validate = () => runner.Validate(new VirtualMachineRawConfig { Kernel = "/k", PayloadChannel = new PayloadChannelOptions { Transport = PayloadTransport.Vsock } });
        validate.Should().Throw<VirtualMachineConfigException>().Which.Message.Should().Contain("vhost_vsock").And.Contain("PayloadTransport.Serial");
    }

    [Fact]
    public void QemuArgv_SerialTransport_NamedPortsOnAVirtioSerialBus_PathsEscaped()
    {
        var config = new VirtualMachineRawConfig { Kernel = "/k", PayloadChannel = new PayloadChannelOptions { Stdio = true } };
        var request = new VmmLaunchRequest(12, config, [], "/tmp/a,b/vm-12", null, NullLogger.Instance);

        List<string> argv = QemuCommandLine.Build(request, useKvm: false, withVsock: false);

        argv.Should().ContainInConsecutiveOrder(
            "-device", "virtio-serial-device,id=vcore-payload-bus",
            "-chardev", "socket,id=vcore-payload,path=/tmp/a,,b/vm-12/payload.sock,server=off",
            "-device", "virtserialport,bus=vcore-payload-bus.0,chardev=vcore-payload,name=vcore.payload",
            "-chardev", "socket,id=vcore-stdio,path=/tmp/a,,b/vm-12/payload-stdio.sock,server=off",
            "-device", "virtserialport,bus=vcore-payload-bus.0,chardev=vcore-stdio,name=vcore.stdio");
    }

    [Fact]
    public void QemuArgv_WithoutStdioOrWithVsock_HasOnlyWhatIsNeeded()
    {
        List<string> ArgvFor(PayloadChannelOptions? payload) => QemuCommandLine.Build(
            new VmmLaunchRequest(12, new VirtualMachineRawConfig { Kernel = "/k", PayloadChannel = payload }, [], "/t", null, NullLogger.Instance), useKvm: false, withVsock: false);

        ArgvFor(new PayloadChannelOptions()).Should().Contain("virtserialport,bus=vcore-payload-bus.0,chardev=vcore-payload,name=vcore.payload")
            .And.NotContain(a => a.Contains("vcore-stdio", StringComparison.Ordinal));
        ArgvFor(new PayloadChannelOptions { Transport = PayloadTransport.Vsock, Stdio = true }).Should().NotContain(a => a.Contains("virtserial", StringComparison.Ordinal) || a.Contains("chardev", StringComparison.Ordinal));
        ArgvFor(null).Should().NotContain(a => a.Contains("virtio-serial", StringComparison.Ordinal));
    }

    [Fact]
    public void CrosvmArgv_SerialTransport_QuotesPathsAndKeepsTheKernelLast()
    {
        var config = new VirtualMachineRawConfig { Kernel = "/k/vmlinuz", PayloadChannel = new PayloadChannelOptions { Stdio = true } };
        var request = new VmmLaunchRequest(42, config, [], "/tmp/a,b/vm-42", null, NullLogger.Instance);

        List<string> argv = CrosvmCommandLine.Build(request, consoleToStdout: false);

        argv.Should().ContainInConsecutiveOrder("--serial", "type=unix-stream,hardware=virtio-console,num=1,path=\"/tmp/a,b/vm-42/payload.sock\"");
        argv.Should().ContainInConsecutiveOrder("--serial", "type=unix-stream,hardware=virtio-console,num=2,path=\"/tmp/a,b/vm-42/payload-stdio.sock\",input-unix-stream=true");
        argv[^1].Should().Be("/k/vmlinuz");
        CrosvmCommandLine.Build(request with { Config = config with { PayloadChannel = config.PayloadChannel with { Transport = PayloadTransport.Vsock } } }, false)
            .Should().NotContain(a => a.Contains("virtio-console", StringComparison.Ordinal));
    }

    [Fact]
    public void TooLongTemporaryDirectory_IsRefusedForThePayloadSocketsToo()
    {
        // "payload-stdio.sock" is the longest socket name: a folder that fits crosvm.sock but not it must be refused.
        string root = "/" + new string('d', 107 - "/vm-65535/payload-stdio.sock".Length + 1);
        var options = new VirtualizationServiceOptions { TemporaryDirectory = root, CrosvmPath = "crosvm" };
        Action create = () => _ = new VirtualizationService(options);
        create.Should().Throw<ArgumentException>().WithMessage("*payload-stdio.sock*107-byte*");
    }
}
