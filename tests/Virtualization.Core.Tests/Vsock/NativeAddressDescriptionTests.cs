using Virtualization.Core.Vsock;

namespace Virtualization.Core.Tests.Vsock;

/// <summary>
/// How an address is named in messages: ports and CIDs are unsigned 32-bit in the kernel, and it hands out ephemeral
/// vsock ports above 2^31 (seen: 2763200672), so they must never print negative.
/// </summary>
public sealed class NativeAddressDescriptionTests
{
    [Theory]
    [InlineData(-1531766624, "port 2763200672 in any CID")] // 2763200672 as the int the API carries
    [InlineData(int.MaxValue, "port 2147483647 in any CID")]
    [InlineData(int.MinValue, "port 2147483648 in any CID")]
    [InlineData(0, "port 0 in any CID")]
    [InlineData(-1, "any port in any CID")] // VMADDR_PORT_ANY
    public void Port_IsPrintedUnsigned(int port, string expected) =>
        NativeAddress.ForVsock(new VsockEndPoint(VsockEndPoint.Any, port)).Description.Should().Be(expected);

    [Theory]
    [InlineData(3, "port 5000 in VM CID 3")]
    [InlineData(-294967296, "port 5000 in VM CID 4000000000")] // 4000000000 as an int
    [InlineData(2, "port 5000 in the host (CID 2)")]
    [InlineData(1, "port 5000 in the local CID 1")]
    public void Cid_IsPrintedUnsigned(int cid, string expected) =>
        NativeAddress.ForVsock(new VsockEndPoint(cid, 5000)).Description.Should().Be(expected);

    [Fact]
    public void UnixSocketStandingForAVsockAddress_NamesBoth() =>
        NativeAddress.ForUnix("/tmp/x.sock", new VsockEndPoint(7, -1531766624)).Description
            .Should().Be("port 2763200672 in VM CID 7 (unix socket /tmp/x.sock)");
}
