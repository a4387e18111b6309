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
    public async Task CreateVmAsync_AsRoot_WithOldSharedCidFolderTrappedByOtherUser_WritesNothingThroughIt()
    {
        Skip.If(OtherUser.Unavailable is not null, OtherUser.Unavailable);
        string shared = OtherUser.SharedFolder(); // plays /tmp: the service's temp folder (TMPDIR) below
        try
        {
            // What the attacker aims at: a file of root's, and a folder of root's to create files in.
            string victim = Directory.CreateDirectory(Path.Combine(shared, "victim")).FullName;
            string target = Path.Combine(victim, "target");
            await File.WriteAllTextAsync(target, "root's data\n");

            // The old attack: the shared CID-lock folder of the old design, pre-created by nobody, its cursor file a link
            // to root's file and every lock file a dangling link into root's folder.
            string cids = Path.Combine(shared, "virtualization-core-cids");
            await OtherUser.ShellAsync(
                $"mkdir -m 777 '{cids}' && ln -s '{target}' '{cids}/next' "
                + $"&& for c in 330 331 332 333; do ln -s \"{victim}/created-$c\" \"{cids}/$c.lock\"; done");
            string[] planted = Listing(cids);

            // Root creates VMs with default options in a separate process whose temp folder is the trapped one.
            var environment = new Dictionary<string, string?>
            {
                ["TMPDIR"] = shared,
                ["XDG_RUNTIME_DIR"] = null,
                ["DOTNET_EnableDiagnostics"] = "0", // no diagnostics socket in TMPDIR
            };
            string rootTemp = Path.Combine(shared, "virtualization-core-0"); // the default for root under this TMPDIR
            await using (VmHostAlloc host = await VmHostAlloc.StartAsync("t" + Guid.NewGuid().ToString("N"), rootTemp, 4, 330, 333, environment: environment))
            {
                host.Cids.Should().BeEquivalentTo([330, 331, 332, 333], "the trap does not stop root from getting CIDs");
            }

            (await File.ReadAllTextAsync(target)).Should().Be("root's data\n", "root's file behind the 'next' link is untouched");
            Directory.GetFileSystemEntries(victim).Should().Equal([target], "no file was created through the dangling links");
            Listing(cids).Should().Equal(planted, "the trapped folder is not used at all");
            Directory.GetFileSystemEntries(shared).Select(Path.GetFileName).Should().BeEquivalentTo(
                ["victim", "virtualization-core-cids", "virtualization-core-0"], "root created nothing else in the shared folder");
        }
        finally
        {
            Directory.Delete(shared, recursive: true);
        }
    }

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

    [SkippableFact(Timeout = 60_000)]
    public async Task CreateVmAsync_CidsHeldByOtherUsersProcess_AreSkipped()
    {
        Skip.If(OtherUser.Unavailable is not null, OtherUser.Unavailable);
        string shared = OtherUser.SharedFolder();
        try
        {
            await using var h = new TestHarness(o => o with { FirstGuestCid = 340, LastGuestCid = 343 });
            await using (VmHostAlloc other = await VmHostAlloc.StartAsync(
                h.Options.CidNamespace, Path.Combine(shared, "nobody-vms"), 2, 340, 343, asOtherUser: true))
            {
                other.Cids.Should().Equal(340, 341);

                IVirtualMachine a = await h.CreateAsync();
                IVirtualMachine b = await h.CreateAsync();
                Func<Task> full = () => h.CreateAsync();

                new[] { a.Cid, b.Cid }.Should().Equal(
                    [342, 343], "root's cursor is its own, but CIDs held by another user's process are skipped");
                await full.Should().ThrowAsync<CidExhaustedException>();
                await a.DisposeAsync();
                await b.DisposeAsync();
            }

            IVirtualMachine c = await h.CreateAsync();
            c.Cid.Should().Be(340, "the other user's process released its CIDs when it exited");
        }
        finally
        {
            Directory.Delete(shared, recursive: true);
        }
    }

    /// <summary>Names and link targets of a folder's entries, sorted.</summary>
    private static string[] Listing(string folder) =>
        [.. Directory.GetFileSystemEntries(folder).Order(StringComparer.Ordinal).Select(p => $"{Path.GetFileName(p)} -> {new FileInfo(p).LinkTarget}")];
}
