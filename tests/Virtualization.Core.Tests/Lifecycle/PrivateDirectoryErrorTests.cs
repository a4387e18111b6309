using System.ComponentModel;
using Virtualization.Core.Lifecycle;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Lifecycle;

/// <summary>
/// <see cref="PrivateDirectory"/> alone: what <see cref="PrivateDirectory.Ensure"/> creates, tightens, refuses and throws,
/// with exact exception types and messages (errno texts are glibc's). The service-level cases are in
/// <see cref="TemporaryDirectoryTests"/> and <see cref="CrossUserTests"/>; the EMFILE cases in
/// <see cref="LowDescriptorLimitTests"/>. The tests run as root, so EACCES cannot be provoked by modes.
/// </summary>
public sealed class PrivateDirectoryErrorTests : IDisposable
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private static readonly uint Me = Interop.Sys.GetEUid();
    private readonly TempDir _temp = new("vct-private-");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Ensure_Missing_IsCreated0700_AndReportsNothingTightened()
    {
        string path = Path.Combine(_temp.Path, "vms");

        PrivateDirectory.Ensure(path).Should().BeNull();

        File.GetUnixFileMode(path).Should().Be(OwnerOnly);
    }

    [Fact]
    public void Ensure_MissingParents_AreCreatedAndOnlyTheLastIsPrivate()
    {
        string path = Path.Combine(_temp.Path, "a", "b", "vms");

        PrivateDirectory.Ensure(path + "/").Should().BeNull();

        File.GetUnixFileMode(path).Should().Be(OwnerOnly);
        Directory.Exists(Path.Combine(_temp.Path, "a", "b")).Should().BeTrue();
    }

    [Fact]
    public void Ensure_Existing0700_IsLeftAlone()
    {
        string path = Directory.CreateDirectory(Path.Combine(_temp.Path, "vms"), OwnerOnly).FullName;

        PrivateDirectory.Ensure(path).Should().BeNull();

        File.GetUnixFileMode(path).Should().Be(OwnerOnly);
    }

    [Theory]
    [InlineData(0x1ED)] // 0755
    [InlineData(0x1C1)] // 0701: one bit more than 0700
    [InlineData(0x100)] // 0400: fewer bits than 0700 are set right too
    [InlineData(0xDC0)] // 06700: setuid and setgid on a folder of ours are cleared, not refused
    public void Ensure_OwnWithOtherPermissions_IsTightenedTo0700_AndReportsTheOldBits(int mode)
    {
        string path = Directory.CreateDirectory(Path.Combine(_temp.Path, "vms")).FullName;
        SetMode(path, mode);
        ((int)File.GetUnixFileMode(path)).Should().Be(mode, "the test sets the mode it starts from");

        PrivateDirectory.Ensure(path).Should().Be((uint)mode);

        File.GetUnixFileMode(path).Should().Be(OwnerOnly);
    }

    [Theory]
    [InlineData(0x3FF)] // 01777, like /tmp
    [InlineData(0x3C0)] // 01700: private but sticky is still a shared folder's mark
    public void Ensure_OwnStickyFolder_IsRefusedAndLeftAsItIs(int mode)
    {
        string path = Directory.CreateDirectory(Path.Combine(_temp.Path, "shared")).FullName;
        SetMode(path, mode);

        Action ensure = () => PrivateDirectory.Ensure(path);

        UnsafeDirectoryException e = ensure.Should().Throw<UnsafeDirectoryException>().Which;
        e.Message.Should().Be(
            $"The temporary directory '{path}' is unsafe: it is a shared folder (sticky bit set, like /tmp) that other users may "
            + $"create files in (owner uid {Me}). It is left as it is. Choose another TemporaryDirectory: a folder of the "
            + "service's own, for example one inside it.");
        e.Path.Should().Be(path);
        e.OwnerUid.Should().Be(Me);
        ((int)File.GetUnixFileMode(path)).Should().Be(mode);
    }

    [SkippableFact]
    public void Ensure_FolderOfAnotherUid_IsRefusedNamingBothUids()
    {
        Skip.IfNot(Environment.IsPrivilegedProcess, "giving a folder to another uid needs root");
        string path = Directory.CreateDirectory(Path.Combine(_temp.Path, "theirs"), OwnerOnly).FullName;
        Chown(path, 12345);

        Action ensure = () => PrivateDirectory.Ensure(path);

        UnsafeDirectoryException e = ensure.Should().Throw<UnsafeDirectoryException>().Which;
        e.Message.Should().Be(
            $"The temporary directory '{path}' is unsafe: it is owned by uid 12345, but this process runs as uid 0 (owner uid 12345). "
            + "Another user could swap or delete the VMs' files in it, so it is not used. Remove it or choose another TemporaryDirectory.");
        e.OwnerUid.Should().Be(12345);
        File.GetUnixFileMode(path).Should().Be(OwnerOnly);
    }

    [Fact]
    public void Ensure_SymbolicLinkToAFolder_IsRefused()
    {
        string real = Directory.CreateDirectory(Path.Combine(_temp.Path, "real")).FullName;
        string link = Path.Combine(_temp.Path, "vms");
        File.CreateSymbolicLink(link, real);

        Action ensure = () => PrivateDirectory.Ensure(link);

        ensure.Should().Throw<UnsafeDirectoryException>().Which.Message.Should().Be(
            $"The temporary directory '{link}' is unsafe: it is a symbolic link (owner uid {Me}). "
            + "Another user could swap or delete the VMs' files in it, so it is not used. Remove it or choose another TemporaryDirectory.");
    }

    [Fact]
    public void Ensure_DanglingSymbolicLink_IsRefusedAndNothingIsCreatedWhereItPoints()
    {
        string target = Path.Combine(_temp.Path, "target");
        string link = Path.Combine(_temp.Path, "vms");
        File.CreateSymbolicLink(link, target);

        Action ensure = () => PrivateDirectory.Ensure(link);

        ensure.Should().Throw<UnsafeDirectoryException>().Which.Message.Should().Contain("it is a symbolic link");
        Path.Exists(target).Should().BeFalse();
    }

    [Fact]
    public void Ensure_RegularFile_IsRefusedAsNotADirectory()
    {
        string file = Path.Combine(_temp.Path, "vms");
        File.WriteAllText(file, "x");

        Action ensure = () => PrivateDirectory.Ensure(file);

        ensure.Should().Throw<UnsafeDirectoryException>().Which.Message.Should().Be(
            $"The temporary directory '{file}' is unsafe: it is not a directory (owner uid {Me}). "
            + "Another user could swap or delete the VMs' files in it, so it is not used. Remove it or choose another TemporaryDirectory.");
    }

    [Fact]
    public void Ensure_ParentIsARegularFile_ThrowsENOTDIROfTheOpen()
    {
        string file = Path.Combine(_temp.Path, "file");
        File.WriteAllText(file, "x");
        string path = Path.Combine(file, "vms");

        Action ensure = () => PrivateDirectory.Ensure(path);

        Win32Exception e = ensure.Should().Throw<Win32Exception>().Which;
        e.NativeErrorCode.Should().Be(20);
        e.Message.Should().Be($"open ({path}) failed: Not a directory (errno 20).");
    }

    [Fact]
    public void Ensure_NameLongerThan255Bytes_ThrowsENAMETOOLONGOfTheOpen()
    {
        string path = Path.Combine(_temp.Path, new string('v', 256));

        Action ensure = () => PrivateDirectory.Ensure(path);

        Win32Exception e = ensure.Should().Throw<Win32Exception>().Which;
        e.NativeErrorCode.Should().Be(36);
        e.Message.Should().Be($"open ({path}) failed: File name too long (errno 36).");
    }

    [SkippableFact]
    public void Ensure_WhereMkdirIsNotPermitted_ThrowsTheMkdirErrno()
    {
        Skip.IfNot(Directory.Exists("/sys/kernel"), "no sysfs");
        const string path = "/sys/kernel/vct-private-test";

        Action ensure = () => PrivateDirectory.Ensure(path);

        ensure.Should().Throw<UnauthorizedAccessException>().WithMessage($"mkdir ({path}) failed: Operation not permitted (errno 1).");
    }

    [SkippableFact]
    public void Ensure_WhereMkdirFailsWithENOENTEvenWithTheParentThere_ThrowsTheSecondMkdirsErrno()
    {
        // procfs: the parent (/proc) exists, yet mkdir in it answers ENOENT, before and after the parent is "created".
        Skip.IfNot(File.Exists("/proc/self/stat"), "no procfs");
        const string path = "/proc/vct-private-test";

        Action ensure = () => PrivateDirectory.Ensure(path);

        FileNotFoundException e = ensure.Should().Throw<FileNotFoundException>().Which;
        e.Message.Should().Be($"mkdir ({path}) failed: No such file or directory (errno 2).");
        e.FileName.Should().Be(path);
    }

    [Fact]
    public void CreateNew_Missing_IsCreated0700()
    {
        string path = Path.Combine(_temp.Path, "vm-3");

        PrivateDirectory.CreateNew(path);

        File.GetUnixFileMode(path).Should().Be(OwnerOnly);
    }

    [Fact]
    public void CreateNew_Existing_ThrowsEEXIST()
    {
        string path = Directory.CreateDirectory(Path.Combine(_temp.Path, "vm-3")).FullName;

        Action create = () => PrivateDirectory.CreateNew(path);

        Win32Exception e = create.Should().Throw<Win32Exception>().Which;
        e.NativeErrorCode.Should().Be(17);
        e.Message.Should().Be($"mkdir ({path}) failed: File exists (errno 17).");
    }

    [Fact]
    public void RemoveLeftover_SymbolicLinkToAFolder_RemovesTheLinkNotTheFolder()
    {
        string real = Directory.CreateDirectory(Path.Combine(_temp.Path, "real")).FullName;
        File.WriteAllText(Path.Combine(real, "keep"), "x");
        string link = Path.Combine(_temp.Path, "vm-4");
        File.CreateSymbolicLink(link, real);

        PrivateDirectory.RemoveLeftover(link).Should().BeTrue();

        Path.Exists(link).Should().BeFalse();
        File.Exists(Path.Combine(real, "keep")).Should().BeTrue();
    }

    internal static void SetMode(string path, int mode) => File.SetUnixFileMode(path, (UnixFileMode)mode);

    internal static void Chown(string path, int uid)
    {
        TestInterop.Chown(path, uid, -1).Should().Be(0, "chown({0}, {1}) failed: {2}", path, uid, Interop.LastErrno);
    }
}
