using System.ComponentModel;
using Virtualization.Core.Lifecycle;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Lifecycle;

/// <summary>
/// No descriptor is left open after a failure (or a success) of the lifecycle files' native calls: counted as the
/// entries of /proc/self/fd that point into the test's own folder, so other tests running meanwhile do not count.
/// </summary>
public sealed class LifecycleDescriptorTests : IDisposable
{
    private readonly TempDir _temp = new("vct-fds-");
    private readonly string _namespace = "d" + Guid.NewGuid().ToString("N");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void CidCursor_Disposed_ClosesTheFile()
    {
        string path = Path.Combine(_temp.Path, "cursor");
        CidCursor cursor = CidCursor.Lock(path);
        string[] held = DescriptorsOnFolder();

        cursor.Dispose();

        held.Should().Equal(path);
        DescriptorsOnFolder().Should().BeEmpty();
    }

    /// <summary>On another thread: a cursor left open would still hold its flock, and the next allocation would wait forever.</summary>
    [Fact(Timeout = 30_000)]
    public async Task CidAllocator_AfterAllocationsAndExhaustion_KeepsNoCursorDescriptor()
    {
        var allocator = new CidAllocator(_namespace, 90, 90, Path.Combine(_temp.Path, "cursor"));
        using CidLease lease = await Task.Run(allocator.Allocate);

        Func<Task> full = () => Task.Run(allocator.Allocate);

        await full.Should().ThrowAsync<CidExhaustedException>();
        DescriptorsOnFolder().Should().BeEmpty();
    }

    [Fact]
    public void PrivateDirectory_AfterSuccessAndEachRefusal_KeepsNoDescriptor()
    {
        string ok = Path.Combine(_temp.Path, "ok");
        string sticky = Directory.CreateDirectory(Path.Combine(_temp.Path, "sticky")).FullName;
        PrivateDirectoryErrorTests.SetMode(sticky, 0x3FF);
        string file = Path.Combine(_temp.Path, "file");
        File.WriteAllText(file, "x");
        string link = Path.Combine(_temp.Path, "link");
        File.CreateSymbolicLink(link, ok);

        PrivateDirectory.Ensure(ok);
        PrivateDirectory.Ensure(ok);
        FluentActions.Invoking(() => PrivateDirectory.Ensure(sticky)).Should().Throw<UnsafeDirectoryException>();
        FluentActions.Invoking(() => PrivateDirectory.Ensure(file)).Should().Throw<UnsafeDirectoryException>();
        FluentActions.Invoking(() => PrivateDirectory.Ensure(link)).Should().Throw<UnsafeDirectoryException>();
        FluentActions.Invoking(() => PrivateDirectory.Ensure(Path.Combine(file, "x"))).Should().Throw<Win32Exception>();

        DescriptorsOnFolder().Should().BeEmpty();
    }

    [SkippableFact]
    public void PrivateDirectory_FolderOfAnotherUidRefused_KeepsNoDescriptor()
    {
        Skip.IfNot(Environment.IsPrivilegedProcess, "giving a folder to another uid needs root");
        string theirs = Directory.CreateDirectory(Path.Combine(_temp.Path, "theirs")).FullName;
        PrivateDirectoryErrorTests.Chown(theirs, 12345);

        FluentActions.Invoking(() => PrivateDirectory.Ensure(theirs)).Should().Throw<UnsafeDirectoryException>();

        DescriptorsOnFolder().Should().BeEmpty();
    }

    [Fact]
    public void InputFile_AfterProbes_KeepsNoDescriptor()
    {
        string kernel = Path.Combine(_temp.Path, "kernel");
        File.WriteAllBytes(kernel, new byte[100]);

        InputFile.Probe(kernel, writable: false);
        InputFile.Probe(kernel, writable: true);
        InputFile.Probe(_temp.Path, writable: true);
        FluentActions.Invoking(() => InputFile.Probe(Path.Combine(kernel, "x"), writable: false)).Should().Throw<Win32Exception>();

        DescriptorsOnFolder().Should().BeEmpty();
    }

    private string[] DescriptorsOnFolder() =>
        [.. Directory.GetFileSystemEntries("/proc/self/fd")
            .Select(fd => new FileInfo(fd).LinkTarget)
            .OfType<string>()
            .Where(target => target.StartsWith(_temp.Path, StringComparison.Ordinal))];
}
