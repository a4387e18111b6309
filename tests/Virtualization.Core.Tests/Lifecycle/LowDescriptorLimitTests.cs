using System.ComponentModel;
using System.Runtime.InteropServices;
using Virtualization.Core.Lifecycle;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Lifecycle;

/// <summary>
/// EMFILE: each descriptor the lifecycle files open, refused by lowering this process's <c>RLIMIT_NOFILE</c> for the one
/// call (restored right after, before any assertion). Alone in the non-parallel collection, so no other test's
/// descriptor comes or goes meanwhile; each test also checks that no descriptor on its folder is left open.
/// </summary>
[Collection(ProcessWideCounts.Name)]
public sealed class LowDescriptorLimitTests : IDisposable
{
    private readonly TempDir _temp = new("vct-emfile-");
    private readonly string _namespace = "m" + Guid.NewGuid().ToString("N");

    public LowDescriptorLimitTests()
    {
        // Loads and compiles what the failure paths use, so that nothing needs a descriptor under the limit.
        _ = new Win32Exception(24, Marshal.GetPInvokeErrorMessage(24));
        _ = new UnsafeDirectoryException("/x", 0, "x");
        string file = Path.Combine(_temp.Path, "warm-up");
        File.WriteAllText(file, "x");
        InputFile.Probe(file, writable: false);
        PrivateDirectory.Ensure(Path.Combine(_temp.Path, "warm-up-dir"));
        new CidAllocator(_namespace, 1000, 1000, Path.Combine(_temp.Path, "warm-up-cursor")).Allocate().Dispose();
        Action fail = () => InputFile.Probe(file + "/x", writable: false);
        fail.Should().Throw<Win32Exception>();
    }

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData(false, "open for reading")]
    [InlineData(true, "open for reading and writing")]
    public void InputFileProbe_NoDescriptorLeft_ThrowsEMFILENamingTheAccess(bool writable, string operation)
    {
        string path = Path.Combine(_temp.Path, "kernel");
        File.WriteAllBytes(path, new byte[512]);

        Exception? thrown = UnderLimit(0, () => InputFile.Probe(path, writable));

        thrown.Should().BeOfType<Win32Exception>().Which.Message.Should().Be($"{operation} ({path}) failed: Too many open files (errno 24).");
        DescriptorsOnFolder().Should().BeEmpty();
    }

    [Fact]
    public void PrivateDirectoryEnsure_OwnFolderThatCannotBeOpened_ThrowsTheOpensErrno()
    {
        string path = Directory.CreateDirectory(Path.Combine(_temp.Path, "vms")).FullName;

        Exception? thrown = UnderLimit(0, () => PrivateDirectory.Ensure(path));

        thrown.Should().BeOfType<Win32Exception>().Which.Message.Should().Be($"open ({path}) failed: Too many open files (errno 24).");
        DescriptorsOnFolder().Should().BeEmpty();
    }

    [Fact]
    public void PrivateDirectoryEnsure_MissingFolderWhenNoDescriptorIsLeft_ThrowsTheOpensErrnoNotENOENT()
    {
        string path = Path.Combine(_temp.Path, "vms");

        Exception? thrown = UnderLimit(0, () => PrivateDirectory.Ensure(path));

        thrown.Should().BeOfType<Win32Exception>().Which.Message.Should().Be($"open ({path}) failed: Too many open files (errno 24).");
        // open(2) takes the descriptor number before it looks the path up: EMFILE, not ENOENT, so nothing is created; the
        // statx that looks for the reason answers ENOENT, and the open's errno is the one reported.
        Directory.Exists(path).Should().BeFalse();
        DescriptorsOnFolder().Should().BeEmpty();
    }

    [SkippableFact]
    public void PrivateDirectoryEnsure_FolderOfAnotherUidThatCannotBeOpened_IsRefusedAsTheirs()
    {
        Skip.IfNot(Environment.IsPrivilegedProcess, "giving a folder to another uid needs root");
        string path = Directory.CreateDirectory(Path.Combine(_temp.Path, "theirs")).FullName;
        PrivateDirectoryErrorTests.Chown(path, 12345);

        Exception? thrown = UnderLimit(0, () => PrivateDirectory.Ensure(path));

        thrown.Should().BeOfType<UnsafeDirectoryException>().Which.Message.Should().Contain(
            "is unsafe: it is owned by uid 12345, but this process runs as uid 0 (owner uid 12345).");
    }

    [Fact]
    public void CidCursorLock_NoDescriptorLeft_ThrowsEMFILE()
    {
        string path = Path.Combine(_temp.Path, "cursor");

        Exception? thrown = UnderLimit(0, () => CidCursor.Lock(path));

        thrown.Should().BeOfType<Win32Exception>().Which.Message.Should().Be($"open ({path}) failed: Too many open files (errno 24).");
        DescriptorsOnFolder().Should().BeEmpty();
    }

    [Fact]
    public void CidAllocatorAllocate_NoDescriptorLeftForTheSocket_ThrowsEMFILE_AndHoldsNothing()
    {
        string cursor = Path.Combine(_temp.Path, "cursor");
        var allocator = new CidAllocator(_namespace, 80, 81, cursor);

        // One descriptor free: the cursor file gets it, the socket does not.
        Exception? thrown = UnderLimit(1, () => allocator.Allocate());

        thrown.Should().BeOfType<Win32Exception>().Which.Message.Should().Be("socket (AF_UNIX) failed: Too many open files (errno 24).");
        allocator.HeldCount.Should().Be(0);
        new FileInfo(cursor).Length.Should().Be(0, "the cursor is not moved");
        DescriptorsOnFolder().Should().BeEmpty("the cursor file is closed");
        using CidLease lease = allocator.Allocate();
        lease.Cid.Should().Be(80);
    }

    /// <summary>
    /// Runs <paramref name="action"/> with <c>RLIMIT_NOFILE</c> set so that only <paramref name="free"/> more descriptors
    /// can be opened (the lowest free number plus that many), and returns what it threw.
    /// </summary>
    private static Exception? UnderLimit(int free, Action action)
    {
        TestInterop.GetRLimit(TestInterop.RLIMIT_NOFILE, out TestInterop.RLimit saved).Should().Be(0);
        int lowest;
        using (Microsoft.Win32.SafeHandles.SafeFileHandle probe = Interop.Sys.Open("/dev/null", Interop.Sys.O_RDONLY | Interop.Sys.O_CLOEXEC))
        {
            probe.IsInvalid.Should().BeFalse();
            lowest = (int)probe.DangerousGetHandle();
        }

        var lowered = new TestInterop.RLimit { Current = (ulong)(lowest + free), Maximum = saved.Maximum };
        Exception? thrown = null;
        int set = TestInterop.SetRLimit(TestInterop.RLIMIT_NOFILE, lowered);
        try
        {
            if (set == 0)
            {
                action();
            }
        }
        catch (Exception e)
        {
            thrown = e;
        }
        finally
        {
            TestInterop.SetRLimit(TestInterop.RLIMIT_NOFILE, saved);
        }

        set.Should().Be(0, "setrlimit lowers the soft limit");
        return thrown;
    }

    private string[] DescriptorsOnFolder() =>
        [.. Directory.GetFileSystemEntries("/proc/self/fd")
            .Select(fd => new FileInfo(fd).LinkTarget)
            .OfType<string>()
            .Where(target => target.StartsWith(_temp.Path, StringComparison.Ordinal))];
}
