using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Lifecycle;

/// <summary>
/// Another local user (<c>nobody</c>) prepares traps in shared folders; a service run by root must not be subverted.
/// These need root (to act as nobody through runuser); CI runs the suite as root.
/// </summary>
[Trait("Requires", "root")]
public sealed class CrossUserTests
{
    [SkippableFact(Timeout = 60_000)]
    public async Task CreateVmAsync_AsRoot_TemporaryDirectoryPreCreatedByOtherUser_IsRefused()
    {
        Skip.If(OtherUser.Unavailable is not null, OtherUser.Unavailable);
        string shared = OtherUser.SharedFolder();
        try
        {
            string root = Path.Combine(shared, "vms");
            await OtherUser.ShellAsync($"mkdir -m 777 '{root}'");
            uint nobody = await OtherUser.UidAsync();
            await using var h = new TestHarness(o => o with { TemporaryDirectory = root });

            Func<Task> create = () => h.CreateAsync();

            UnsafeDirectoryException e = (await create.Should().ThrowAsync<UnsafeDirectoryException>()).Which;
            e.Path.Should().Be(root);
            e.OwnerUid.Should().Be(nobody);
            e.Message.Should().Contain(root).And.Contain($"uid {nobody}").And.Contain("choose another TemporaryDirectory");
            Directory.GetFileSystemEntries(root).Should().BeEmpty("nothing is created in a folder another user controls");
            File.GetUnixFileMode(root).Should().Be((UnixFileMode)Convert.ToInt32("777", 8), "another user's folder is not modified");
            h.Service.HeldCidCount.Should().Be(0);
            h.Service.DebugListVms().Should().BeEmpty();
        }
        finally
        {
            Directory.Delete(shared, recursive: true);
        }
    }

    [SkippableFact(Timeout = 60_000)]
    public async Task CreateVmAsync_AsRoot_TemporaryDirectoryIsOtherUsersLinkToRootsFolder_IsRefused()
    {
        Skip.If(OtherUser.Unavailable is not null, OtherUser.Unavailable);
        string shared = OtherUser.SharedFolder();
        try
        {
            string rootsOwn = Directory.CreateDirectory(Path.Combine(shared, "roots-own")).FullName;
            string link = Path.Combine(shared, "vms");
            await OtherUser.ShellAsync($"ln -s '{rootsOwn}' '{link}'");
            uint nobody = await OtherUser.UidAsync();
            await using var h = new TestHarness(o => o with { TemporaryDirectory = link });

            Func<Task> create = () => h.CreateAsync();

            UnsafeDirectoryException e = (await create.Should().ThrowAsync<UnsafeDirectoryException>()).Which;
            e.OwnerUid.Should().Be(nobody, "the link's owner is reported");
            e.Message.Should().Contain(link).And.Contain("symbolic link");
            Directory.GetFileSystemEntries(rootsOwn).Should().BeEmpty("nothing is created where the link points");
        }
        finally
        {
            Directory.Delete(shared, recursive: true);
        }
    }
}
