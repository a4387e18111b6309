using Microsoft.Extensions.Logging.Abstractions;
using Virtualization.Core.Vmm;

namespace Virtualization.Core.Tests.Vmm;

/// <summary><see cref="VmmLaunchRequest.GuestMemoryBytes"/>: MiB to bytes, 256 MiB when no memory is configured.</summary>
public sealed class VmmLaunchRequestTests
{
    [Theory]
    [InlineData(0, 268_435_456L)] // the VMMs' default, 256 MiB
    [InlineData(-5, 268_435_456L)]
    [InlineData(1, 1_048_576L)]
    [InlineData(2, 2_097_152L)]
    [InlineData(300, 314_572_800L)]
    [InlineData(4096, 4_294_967_296L)] // 4 GiB: past int
    [InlineData(int.MaxValue, 2_251_799_812_636_672L)] // (2^31 - 1) MiB, no overflow
    public void GuestMemoryBytes_IsTheConfiguredMiBInBytes(int memoryMib, long expected)
    {
        var request = new VmmLaunchRequest(
            3, new VirtualMachineRawConfig { Kernel = "/k", MemoryMib = memoryMib }, [], "/tmp/vm-3", null, NullLogger.Instance);

        request.GuestMemoryBytes.Should().Be(expected);
    }

    [Fact]
    public void Console_IsCreatedForTheRequestsOutput()
    {
        var output = new MemoryStream();
        var request = new VmmLaunchRequest(3, new VirtualMachineRawConfig { Kernel = "/k" }, [], "/tmp/vm-3", output, NullLogger.Instance);

        request.Console.Output.Should().BeSameAs(output);
    }
}
