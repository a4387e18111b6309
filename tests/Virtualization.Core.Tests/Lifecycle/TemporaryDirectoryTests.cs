using Microsoft.Extensions.Logging;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Lifecycle;

/// <summary>
/// The temporary root (VM folders, control sockets, the CID cursor) must be a directory of this user closed to others;
/// VM folders are made fresh inside it. The cases where another user prepared the folder are in
/// <see cref="CrossUserTests"/>.
/// </summary>
public sealed class TemporaryDirectoryTests : IDisposable
{
    private static readonly UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private readonly TempDir _temp = new("vct-tmp-");

    public void Dispose() => _temp.Dispose();

    [Fact(Timeout = 30_000)]
    public async Task CreateVmAsync_MissingTemporaryDirectory_IsCreatedPrivate()
    {
        string root = Path.Combine(_temp.Path, "parent", "vms");
        await using var h = new TestHarness(o => o with { TemporaryDirectory = root });

        IVirtualMachine vm = await h.CreateAsync();

        File.GetUnixFileMode(root).Should().Be(OwnerOnly);
        File.GetUnixFileMode(Path.Combine(root, $"vm-{vm.Cid}")).Should().Be(OwnerOnly);
        File.GetUnixFileMode(Path.Combine(root, "cid-cursor")).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    [Theory(Timeout = 30_000)]
    [InlineData("")]
    [InlineData("/")]
    public async Task CreateVmAsync_TemporaryDirectoryIsSymlink_IsRefused(string suffix)
    {
        string real = Directory.CreateDirectory(Path.Combine(_temp.Path, "real")).FullName;
        string link = Path.Combine(_temp.Path, "vms");
        File.CreateSymbolicLink(link, real);
        await using var h = new TestHarness(o => o with { TemporaryDirectory = link + suffix });

        Func<Task> create = () => h.CreateAsync();

        UnsafeDirectoryException e = (await create.Should().ThrowAsync<UnsafeDirectoryException>()).Which;
        e.Path.Should().Be(link);
        e.OwnerUid.Should().Be(Interop.Sys.GetEUid());
        e.Message.Should().Contain(link).And.Contain("symbolic link").And.Contain("choose another TemporaryDirectory");
        Directory.GetFileSystemEntries(real).Should().BeEmpty("nothing is created where the link points");
        h.Service.HeldCidCount.Should().Be(0);
    }

    [Fact(Timeout = 30_000)]
    public async Task CreateVmAsync_TemporaryDirectoryIsAFile_IsRefused()
    {
        string file = Path.Combine(_temp.Path, "vms");
        await File.WriteAllTextAsync(file, "not a folder");
        await using var h = new TestHarness(o => o with { TemporaryDirectory = file });

        Func<Task> create = () => h.CreateAsync();

        (await create.Should().ThrowAsync<UnsafeDirectoryException>()).Which.Message.Should().Contain("not a directory");
        (await File.ReadAllTextAsync(file)).Should().Be("not a folder");
    }

    [Fact(Timeout = 30_000)]
    public async Task CreateVmAsync_OwnTemporaryDirectoryOpenToOthers_IsTightenedTo0700()
    {
        string root = Directory.CreateDirectory(Path.Combine(_temp.Path, "vms")).FullName;
        File.SetUnixFileMode(root, (UnixFileMode)Convert.ToInt32("777", 8));
        await using var h = new TestHarness(o => o with { TemporaryDirectory = root });

        await h.CreateAsync();

        File.GetUnixFileMode(root).Should().Be(OwnerOnly);
        h.Log.Entries.Should().Contain(e => e.Level == LogLevel.Warning && e.Message.Contains(root) && e.Message.Contains("0777"));
    }

    [Fact(Timeout = 30_000)]
    public async Task CreateVmAsync_OwnStickySharedFolder_IsRefusedAndLeftAsItIs()
    {
        // Root's /tmp is root's own: closing it to 0700 would break every other user, so a sticky folder is refused.
        string shared = Directory.CreateDirectory(Path.Combine(_temp.Path, "shared")).FullName;
        var sharedMode = (UnixFileMode)Convert.ToInt32("1777", 8);
        File.SetUnixFileMode(shared, sharedMode);
        await using var h = new TestHarness(o => o with { TemporaryDirectory = shared });

        Func<Task> create = () => h.CreateAsync();

        UnsafeDirectoryException e = (await create.Should().ThrowAsync<UnsafeDirectoryException>()).Which;
        e.Message.Should().Contain(shared).And.Contain("sticky").And.Contain("Choose another TemporaryDirectory").And.NotContain("Remove it");
        File.GetUnixFileMode(shared).Should().Be(sharedMode);
        Directory.GetFileSystemEntries(shared).Should().BeEmpty();
    }

    /// <summary>Root owns the system's temp folder, so only another user sees it refused as someone else's.</summary>
    [SkippableFact(Timeout = 30_000)]
    [Trait("Requires", "non-root")]
    public async Task CreateVmAsync_TemporaryDirectoryOwnedByRoot_IsRefused()
    {
        Skip.If(Environment.IsPrivilegedProcess, "running as root: root's folders are this process's own");
        string kernel = new FakeScenario().WriteKernel(Path.Combine(_temp.Path, "kernel"));
        await using var service = new VirtualizationService(new VirtualizationServiceOptions
        {
            Vmm = VmmKind.Crosvm,
            CrosvmPath = TestPaths.FakeCrosvm,
            TemporaryDirectory = "/tmp",
            CidNamespace = "t" + Guid.NewGuid().ToString("N"),
        });

        Func<Task> create = () => service.CreateVmAsync(new VirtualMachineRawConfig { Kernel = kernel });

        UnsafeDirectoryException e = (await create.Should().ThrowAsync<UnsafeDirectoryException>()).Which;
        e.OwnerUid.Should().Be(0);
        e.Message.Should().Contain("'/tmp'").And.Contain("owned by uid 0");
        service.HeldCidCount.Should().Be(0);
        File.Exists("/tmp/cid-cursor").Should().BeFalse("nothing is created in a folder of another user");
    }

    [Fact(Timeout = 30_000)]
    public async Task CreateVmAsync_LeftoverVmFolderIsSymlink_RemovesTheLinkOnly()
    {
        (string root, string outside) = PrepareRootAndOutsideFolder();
        File.CreateSymbolicLink(Path.Combine(root, "vm-320"), outside);
        await using var h = new TestHarness(o => o with { TemporaryDirectory = root, FirstGuestCid = 320, LastGuestCid = 320 });

        IVirtualMachine vm = await h.CreateAsync();

        string folder = Path.Combine(root, "vm-320");
        vm.Cid.Should().Be(320);
        new DirectoryInfo(folder).LinkTarget.Should().BeNull("the VM folder is a new, real directory");
        File.GetUnixFileMode(folder).Should().Be(OwnerOnly);
        (await File.ReadAllTextAsync(Path.Combine(outside, "keep"))).Should().Be("keep me", "the link's target is not touched");
        h.Log.Entries.Should().Contain(e => e.Message.Contains(folder) && e.Message.Contains("CID 320"));
    }

    [Fact(Timeout = 30_000)]
    public async Task CreateVmAsync_LeftoverVmFolderWithLinksInside_IsReplacedWithoutFollowingThem()
    {
        (string root, string outside) = PrepareRootAndOutsideFolder();
        string leftover = Directory.CreateDirectory(Path.Combine(root, "vm-320")).FullName;
        File.CreateSymbolicLink(Path.Combine(leftover, "escape"), outside);
        await File.WriteAllTextAsync(Path.Combine(leftover, "crosvm.sock"), "stale");
        await using var h = new TestHarness(o => o with { TemporaryDirectory = root, FirstGuestCid = 320, LastGuestCid = 320 });

        await h.CreateAsync();

        Directory.GetFileSystemEntries(leftover).Should().BeEmpty("the leftover folder was replaced by a new one");
        (await File.ReadAllTextAsync(Path.Combine(outside, "keep"))).Should().Be("keep me");
    }

    [Fact]
    public void RemoveLeftover_NothingThere_ReturnsFalse()
    {
        string missing = Path.Combine(_temp.Path, "missing");

        Virtualization.Core.Lifecycle.PrivateDirectory.RemoveLeftover(missing).Should().BeFalse();
        Directory.GetFileSystemEntries(_temp.Path).Should().BeEmpty();
    }

    [Fact]
    public void RemoveLeftover_FileAndFolder_AreRemovedAndReported()
    {
        string file = Path.Combine(_temp.Path, "file");
        File.WriteAllText(file, "x");
        string folder = Directory.CreateDirectory(Path.Combine(_temp.Path, "folder", "inner")).Parent!.FullName;

        Virtualization.Core.Lifecycle.PrivateDirectory.RemoveLeftover(file).Should().BeTrue();
        Virtualization.Core.Lifecycle.PrivateDirectory.RemoveLeftover(folder).Should().BeTrue();
        Directory.GetFileSystemEntries(_temp.Path).Should().BeEmpty();
    }

    [Fact]
    public void RemoveLeftover_PathThroughAFile_ThrowsTheErrno()
    {
        string file = Path.Combine(_temp.Path, "file");
        File.WriteAllText(file, "x");
        string below = Path.Combine(file, "child");

        Action remove = () => Virtualization.Core.Lifecycle.PrivateDirectory.RemoveLeftover(below);

        var thrown = remove.Should().Throw<System.ComponentModel.Win32Exception>().Which;
        thrown.NativeErrorCode.Should().Be(20, "ENOTDIR: a path below a regular file is an error, not 'nothing there'");
        thrown.Message.Should().Be($"statx ({below}) failed: Not a directory (errno 20).");
        File.ReadAllText(file).Should().Be("x");
    }

    private (string Root, string Outside) PrepareRootAndOutsideFolder()
    {
        string root = Directory.CreateDirectory(Path.Combine(_temp.Path, "vms")).FullName;
        File.SetUnixFileMode(root, OwnerOnly);
        string outside = Directory.CreateDirectory(Path.Combine(_temp.Path, "outside")).FullName;
        File.WriteAllText(Path.Combine(outside, "keep"), "keep me");
        return (root, outside);
    }
}
