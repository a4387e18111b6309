using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Vsock;

public sealed class SockAddrVmLayoutTests
{
    private const string CProgram = """
        #include <stddef.h>
        #include <stdio.h>
        #include <fcntl.h>
        #include <errno.h>
        #include <sys/socket.h>
        #include <sys/time.h>
        #include <sys/ioctl.h>
        #include <linux/vm_sockets.h>

        int main(void)
        {
            printf("sizeof %zu\n", sizeof(struct sockaddr_vm));
            printf("svm_family %zu\n", offsetof(struct sockaddr_vm, svm_family));
            printf("svm_reserved1 %zu\n", offsetof(struct sockaddr_vm, svm_reserved1));
            printf("svm_port %zu\n", offsetof(struct sockaddr_vm, svm_port));
            printf("svm_cid %zu\n", offsetof(struct sockaddr_vm, svm_cid));
            printf("svm_flags %zu\n", offsetof(struct sockaddr_vm, svm_flags));
            printf("svm_zero %zu\n", offsetof(struct sockaddr_vm, svm_zero));
            printf("AF_VSOCK %d\n", AF_VSOCK);
            printf("AF_UNIX %d\n", AF_UNIX);
            printf("AF_INET %d\n", AF_INET);
            printf("SOCK_STREAM %d\n", SOCK_STREAM);
            printf("SOCK_CLOEXEC %d\n", SOCK_CLOEXEC);
            printf("SOCK_NONBLOCK %d\n", SOCK_NONBLOCK);
            printf("O_CLOEXEC %d\n", O_CLOEXEC);
            printf("VMADDR_CID_ANY %u\n", VMADDR_CID_ANY);
            printf("VMADDR_PORT_ANY %u\n", VMADDR_PORT_ANY);
            printf("VMADDR_CID_HYPERVISOR %u\n", VMADDR_CID_HYPERVISOR);
            printf("VMADDR_CID_LOCAL %u\n", VMADDR_CID_LOCAL);
            printf("VMADDR_CID_HOST %u\n", VMADDR_CID_HOST);
            printf("VMADDR_FLAG_TO_HOST %u\n", VMADDR_FLAG_TO_HOST);
            printf("IOCTL_VM_SOCKETS_GET_LOCAL_CID %lu\n", (unsigned long)IOCTL_VM_SOCKETS_GET_LOCAL_CID);
            printf("SO_VM_SOCKETS_CONNECT_TIMEOUT %d\n", (int)SO_VM_SOCKETS_CONNECT_TIMEOUT);
            printf("sizeof_timeval %zu\n", sizeof(struct timeval));
            printf("ECONNREFUSED %d\nECONNRESET %d\nETIMEDOUT %d\nENODEV %d\nEAFNOSUPPORT %d\nEADDRINUSE %d\nEADDRNOTAVAIL %d\nEHOSTUNREACH %d\n",
                   ECONNREFUSED, ECONNRESET, ETIMEDOUT, ENODEV, EAFNOSUPPORT, EADDRINUSE, EADDRNOTAVAIL, EHOSTUNREACH);

            struct sockaddr_vm a = {0};
            a.svm_family = AF_VSOCK;
            a.svm_port = 0x55667788u;
            a.svm_cid = 0x11223344u;
            a.svm_flags = VMADDR_FLAG_TO_HOST;
            printf("bytes ");
            for (size_t i = 0; i < sizeof a; i++) printf("%02x", ((unsigned char *)&a)[i]);
            printf("\n");
            return 0;
        }
        """;

    [SkippableFact(Timeout = 60000)]
    public async Task ManagedSockaddrVm_MatchesTheKernelHeader()
    {
        CHeaderProbe.Values c = await CHeaderProbe.RunAsync(CProgram, "linux/vm_sockets.h");
        long N(string key) => c[key];

        N("sizeof").Should().Be(VsockEndPoint.SockAddrSize);
        N("svm_family").Should().Be(VsockEndPoint.FamilyOffset);
        N("svm_reserved1").Should().Be(2);
        N("svm_port").Should().Be(VsockEndPoint.PortOffset);
        N("svm_cid").Should().Be(VsockEndPoint.CidOffset);
        N("svm_flags").Should().Be(VsockEndPoint.FlagsOffset);
        N("svm_zero").Should().Be(13);
        N("AF_VSOCK").Should().Be(Interop.Sockets.AF_VSOCK);
        N("AF_UNIX").Should().Be(Interop.Sockets.AF_UNIX);
        N("AF_INET").Should().Be(TestInterop.AF_INET);
        N("SOCK_STREAM").Should().Be(Interop.Sockets.SOCK_STREAM);
        N("SOCK_CLOEXEC").Should().Be(Interop.Sockets.SOCK_CLOEXEC);
        N("SOCK_NONBLOCK").Should().Be(TestInterop.SOCK_NONBLOCK);
        N("O_CLOEXEC").Should().Be(Interop.Sys.O_CLOEXEC);
        N("VMADDR_CID_ANY").Should().Be(unchecked((uint)VsockEndPoint.Any), "the kernel's u32, stored bit for bit in an int");
        N("VMADDR_PORT_ANY").Should().Be(unchecked((uint)VsockEndPoint.AnyPort));
        N("VMADDR_CID_HYPERVISOR").Should().Be(VsockEndPoint.Hypervisor);
        N("VMADDR_CID_LOCAL").Should().Be(VsockEndPoint.Local);
        N("VMADDR_CID_HOST").Should().Be(VsockEndPoint.Host);
        N("VMADDR_FLAG_TO_HOST").Should().Be((long)VsockAddressOptions.ToHost);
        N("IOCTL_VM_SOCKETS_GET_LOCAL_CID").Should().Be(Interop.Sys.IOCTL_VM_SOCKETS_GET_LOCAL_CID);
        N("SO_VM_SOCKETS_CONNECT_TIMEOUT").Should().Be(Interop.Sockets.SO_VM_SOCKETS_CONNECT_TIMEOUT);
        N("sizeof_timeval").Should().Be(System.Runtime.CompilerServices.Unsafe.SizeOf<Interop.Sockets.Timeval>());
        N("ECONNREFUSED").Should().Be((int)Interop.Errno.ECONNREFUSED);
        N("ECONNRESET").Should().Be((int)Interop.Errno.ECONNRESET);
        N("ETIMEDOUT").Should().Be((int)Interop.Errno.ETIMEDOUT);
        N("ENODEV").Should().Be((int)Interop.Errno.ENODEV);
        N("EAFNOSUPPORT").Should().Be((int)Interop.Errno.EAFNOSUPPORT);
        N("EADDRINUSE").Should().Be((int)Interop.Errno.EADDRINUSE);
        N("EADDRNOTAVAIL").Should().Be((int)Interop.Errno.EADDRNOTAVAIL);
        N("EHOSTUNREACH").Should().Be((int)Interop.Errno.EHOSTUNREACH);

        // The same address serialized by C and by us, byte for byte.
        SocketAddress managed = new VsockEndPoint(0x11223344, 0x55667788, VsockAddressOptions.ToHost).Serialize();
        Convert.ToHexString(managed.Buffer.Span[..managed.Size]).ToLowerInvariant().Should().Be(c.Text("bytes"));
    }

    [Fact]
    public void Serialize_WritesTheKernelLayout()
    {
        SocketAddress address = new VsockEndPoint(3, 5000).Serialize();
        address.Size.Should().Be(16);
        address.Buffer.Span[..16].ToArray().Should().Equal(
            40, 0, 0, 0,            // family AF_VSOCK, reserved1
            0x88, 0x13, 0, 0,       // port 5000
            3, 0, 0, 0,             // cid 3
            0, 0, 0, 0);            // flags, zero[3]
    }

    [Theory]
    [InlineData(3, 5000, (byte)0)]
    [InlineData(VsockEndPoint.Any, VsockEndPoint.AnyPort, (byte)0)]
    [InlineData(VsockEndPoint.Host, 1024, (byte)1)]
    [InlineData(0x11223344, 0x55667788, (byte)1)]
    [InlineData(-2, int.MinValue, (byte)0)] // u32 values above int.MaxValue: 0xFFFFFFFE and 0x80000000
    public void Create_RoundTripsSerialize(int cid, int port, byte flags)
    {
        var original = new VsockEndPoint(cid, port, (VsockAddressOptions)flags);
        SocketAddress bytes = original.Serialize();

        var decoded = (VsockEndPoint)original.Create(bytes);

        decoded.Cid.Should().Be(cid);
        decoded.Port.Should().Be(port);
        decoded.Flags.Should().Be((VsockAddressOptions)flags);
        decoded.Should().Be(original);
        decoded.Serialize().Buffer.Span[..16].ToArray().Should().Equal(bytes.Buffer.Span[..16].ToArray());
    }

    [Fact]
    public void Create_ReadsCidAndPortFromTheirOwnOffsets()
    {
        var address = new SocketAddress(AddressFamily.Unspecified, 16);
        Span<byte> b = address.Buffer.Span;
        b[0] = 40;
        BitConverter.TryWriteBytes(b[4..], 1234u); // port
        BitConverter.TryWriteBytes(b[8..], 77u);   // cid
        b[12] = 0;

        var endPoint = (VsockEndPoint)new VsockEndPoint(0, 0).Create(address);

        endPoint.Port.Should().Be(1234);
        endPoint.Cid.Should().Be(77);
        endPoint.Flags.Should().Be(VsockAddressOptions.None);
    }

    [Fact]
    public void Create_RejectsOtherFamiliesAndShortAddresses()
    {
        var prototype = new VsockEndPoint(0, 0);
        var unix = new UnixDomainSocketEndPoint("/tmp/a-long-enough-unix-socket-path").Serialize();
        var shortAddress = new SocketAddress(AddressFamily.Unspecified, 8);
        shortAddress.Buffer.Span[0] = 40;

        prototype.Invoking(p => p.Create(unix)).Should().Throw<ArgumentException>().WithMessage("*family is 1*");
        prototype.Invoking(p => p.Create(shortAddress)).Should().Throw<ArgumentException>().WithMessage("*16 bytes*8*");
    }

    [Fact]
    public void EqualityToStringAndAddressFamily_AreCorrect()
    {
        var a = new VsockEndPoint(3, 5000);
        a.Should().Be(new VsockEndPoint(3, 5000));
        (a == new VsockEndPoint(3, 5000)).Should().BeTrue();
        (a != new VsockEndPoint(3, 5001)).Should().BeTrue();
        a.Should().NotBe(new VsockEndPoint(4, 5000));
        a.Should().NotBe(new VsockEndPoint(3, 5000, VsockAddressOptions.ToHost));
        a.GetHashCode().Should().Be(new VsockEndPoint(3, 5000).GetHashCode());
        a.Equals((object?)null).Should().BeFalse();

        a!.ToString().Should().Be("vsock:3:5000");
        new VsockEndPoint(VsockEndPoint.Any, VsockEndPoint.AnyPort).ToString().Should().Be("vsock:any:any");
        new VsockEndPoint(2, 9, VsockAddressOptions.ToHost).ToString().Should().Be("vsock:2:9 (ToHost)");
        a.AddressFamily.Should().Be(AddressFamily.Unknown);
    }
}
