using System.Runtime.InteropServices;
using Virtualization.Core.Vmm;

namespace Virtualization.Core.Tests.Vmm;

/// <summary>Locating the <c>vcore-exec</c> launcher next to the assembly.</summary>
public sealed class NativeHelperTests
{
    [Fact]
    public void Path_IsAnExecutableVcoreExec()
    {
        string path = NativeHelper.Path;

        System.IO.Path.IsPathRooted(path).Should().BeTrue();
        path.Should().EndWith("/vcore-exec");
        File.Exists(path).Should().BeTrue();
        File.GetUnixFileMode(path).Should().HaveFlag(UnixFileMode.UserExecute);
        NativeHelper.Path.Should().BeSameAs(path);
    }

    [Fact]
    public void RuntimeIdentifier_NamesThisArchitecture()
    {
        string expected = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => "linux-x64",
            Architecture.Arm64 => "linux-arm64",
            _ => "unexpected",
        };

        NativeHelper.RuntimeIdentifier.Should().Be(expected);
    }
}
