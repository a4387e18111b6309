using System.Runtime.InteropServices;
using Virtualization.Core.Vmm;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Vmm;

/// <summary>
/// Locating the <c>vcore-exec</c> launcher next to the assembly, and making it executable. The search order and the
/// mode bits are driven with temporary folders through <see cref="NativeHelper.Locate(string, string?)"/> and
/// <see cref="NativeHelper.MakeExecutable"/>.
/// </summary>
public sealed class NativeHelperTests : IDisposable
{
    private const UnixFileMode Mode0644 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    private readonly TempDir _base = new();
    private readonly TempDir _assembly = new();

    public void Dispose()
    {
        _base.Dispose();
        _assembly.Dispose();
    }

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

    [Fact]
    public void Locate_HelperInTheBaseFolder_WinsOverEveryOtherCandidate()
    {
        string expected = Helper(_base.Path);
        Helper(RuntimesFolder(_base.Path));
        Helper(_assembly.Path);
        Helper(RuntimesFolder(_assembly.Path));

        NativeHelper.Locate(_base.Path, _assembly.Path).Should().Be(expected);
    }

    [Fact]
    public void Locate_OnlyInTheBaseFoldersRuntimes_IsFoundThere_BeforeTheAssemblyFolder()
    {
        string expected = Helper(RuntimesFolder(_base.Path));
        Helper(_assembly.Path);

        NativeHelper.Locate(_base.Path, _assembly.Path).Should().Be(expected);
    }

    [Fact]
    public void Locate_OnlyInTheAssemblyFolder_IsFoundThere_BeforeItsRuntimes()
    {
        string expected = Helper(_assembly.Path);
        Helper(RuntimesFolder(_assembly.Path));

        NativeHelper.Locate(_base.Path, _assembly.Path).Should().Be(expected);
    }

    [Fact]
    public void Locate_OnlyInTheAssemblyFoldersRuntimes_IsFoundThere()
    {
        string expected = Helper(RuntimesFolder(_assembly.Path));

        NativeHelper.Locate(_base.Path, _assembly.Path).Should().Be(expected);
    }

    [Fact]
    public void Locate_AFolderNamedVcoreExec_IsNotAHelper()
    {
        Directory.CreateDirectory(Path.Combine(_base.Path, "vcore-exec"));
        string expected = Helper(RuntimesFolder(_base.Path));

        NativeHelper.Locate(_base.Path, _assembly.Path).Should().Be(expected);
    }

    [Fact]
    public void Locate_AFoundHelperWithoutExecuteBits_IsMadeExecutable()
    {
        string expected = Helper(_base.Path, Mode0644);

        NativeHelper.Locate(_base.Path, null).Should().Be(expected);

        File.GetUnixFileMode(expected).Should().Be(Mode0644 | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
    }

    [Fact]
    public void Locate_NowhereWithAnAssemblyFolder_ThrowsListingTheFourCandidates()
    {
        string rid = RuntimeIdentifier();

        Action act = () => NativeHelper.Locate(_base.Path, _assembly.Path);

        VirtualMachineStartException e = act.Should().ThrowExactly<VirtualMachineStartException>().Which;
        e.Message.Should().Be(
            $"The VMM launcher 'vcore-exec' for {rid} was not found (looked in: {_base.Path}/vcore-exec, "
            + $"{_base.Path}/runtimes/{rid}/native/vcore-exec, {_assembly.Path}/vcore-exec, {_assembly.Path}/runtimes/{rid}/native/vcore-exec). "
            + "It ships in the Virtualization.Core package under runtimes/<rid>/native/; Virtualization.Core supports linux-x64 and linux-arm64."
            + "\nThe VM is dead and cannot be started again; fix the cause and create a new VM.");
        e.ExitCode.Should().BeNull();
        e.StandardErrorTail.Should().BeEmpty();
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void Locate_NowhereWithoutAnAssemblyFolder_ListsTheBaseFoldersTwoCandidatesOnly(string? assemblyDirectory)
    {
        string rid = RuntimeIdentifier();

        Action act = () => NativeHelper.Locate(_base.Path, assemblyDirectory);

        act.Should().ThrowExactly<VirtualMachineStartException>().Which.Message.Should().StartWith(
            $"The VMM launcher 'vcore-exec' for {rid} was not found (looked in: {_base.Path}/vcore-exec, "
            + $"{_base.Path}/runtimes/{rid}/native/vcore-exec). It ships");
    }

    [Fact]
    public void MakeExecutable_NoExecuteBit_AddsUserGroupAndOtherExecute_KeepingTheRest()
    {
        string path = Helper(_base.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        NativeHelper.MakeExecutable(path).Should().Be(path);

        File.GetUnixFileMode(path).Should().Be(
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute,
            "0600 becomes 0711");
    }

    [Fact]
    public void MakeExecutable_GroupExecuteOnly_AddsUserAndOtherExecute()
    {
        // 0610: root may execute it (any execute bit will do for root), but the owner's bit is missing, so it is added.
        string path = Helper(_base.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupExecute);

        NativeHelper.MakeExecutable(path).Should().Be(path);

        File.GetUnixFileMode(path).Should().Be(
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute,
            "0610 becomes 0711");
    }

    [Fact]
    public void MakeExecutable_AlreadyExecutableByItsOwner_IsLeftAsItIs()
    {
        UnixFileMode mode0700 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        string path = Helper(_base.Path, mode0700);

        NativeHelper.MakeExecutable(path).Should().Be(path);

        File.GetUnixFileMode(path).Should().Be(mode0700, "group and other execute bits are only added when a change is needed");
    }

    [Fact]
    public void MakeExecutable_AFileWhoseModeCannotChange_ThrowsSayingHowToFixIt()
    {
        // A /proc/<pid> entry (0444) refuses chmod with EPERM, even for root.
        string path = $"/proc/{Environment.ProcessId}/stat";
        UnixFileMode before = File.GetUnixFileMode(path);

        Action act = () => NativeHelper.MakeExecutable(path);

        VirtualMachineStartException e = act.Should().ThrowExactly<VirtualMachineStartException>().Which;
        e.Message.Should().Be(
            $"The VMM launcher '{path}' is not executable and this user cannot change that (NuGet does not keep execute "
            + $"permissions). Run: chmod +x '{path}'\nThe VM is dead and cannot be started again; fix the cause and create a new VM.");
        e.ExitCode.Should().BeNull();
        e.StandardErrorTail.Should().BeEmpty();
        File.GetUnixFileMode(path).Should().Be(before);
    }

    private static string RuntimeIdentifier() => RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "linux-arm64" : "linux-x64";

    private static string RuntimesFolder(string root) => Path.Combine(root, "runtimes", RuntimeIdentifier(), "native");

    private static string Helper(string folder, UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute)
    {
        Directory.CreateDirectory(folder);
        string path = Path.Combine(folder, "vcore-exec");
        File.WriteAllText(path, "#!/bin/sh\n");
        File.SetUnixFileMode(path, mode);
        return path;
    }
}
