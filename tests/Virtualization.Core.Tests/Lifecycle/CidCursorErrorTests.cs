using System.ComponentModel;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Virtualization.Core.Lifecycle;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Lifecycle;

/// <summary>
/// What <see cref="CidCursor.Lock"/> and <see cref="CidAllocator.Allocate"/> do when the cursor file cannot be used or
/// every CID is taken: exact exception types and messages (errno texts are glibc's), nothing held afterwards, the lock
/// really exclusive and dropped on dispose. The EMFILE cases are in <see cref="LowDescriptorLimitTests"/>.
/// </summary>
public sealed class CidCursorErrorTests : IDisposable
{
    private readonly TempDir _temp = new("vct-cid-errors-");
    private readonly string _namespace = "e" + Guid.NewGuid().ToString("N");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Lock_NewFile_IsCreatedEmptyReadWriteForTheOwnerOnly_AndReadsAsZero()
    {
        string path = Path.Combine(_temp.Path, "cursor");

        using (CidCursor cursor = CidCursor.Lock(path))
        {
            cursor.Read().Should().Be(0);
        }

        File.GetUnixFileMode(path).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        new FileInfo(path).Length.Should().Be(0);
    }

    [Fact]
    public void Lock_DirectoryInPlaceOfTheFile_ThrowsEISDIR()
    {
        string path = Directory.CreateDirectory(Path.Combine(_temp.Path, "cursor")).FullName;

        Action lockIt = () => CidCursor.Lock(path).Dispose();

        Win32Exception e = lockIt.Should().Throw<Win32Exception>().Which;
        e.NativeErrorCode.Should().Be(21);
        e.Message.Should().Be($"open ({path}) failed: Is a directory (errno 21).");
    }

    [Fact]
    public void Lock_SymbolicLink_ThrowsELOOP_AndLeavesTheTargetAlone()
    {
        string target = Path.Combine(_temp.Path, "target");
        File.WriteAllText(target, "7\n");
        string path = Path.Combine(_temp.Path, "cursor");
        File.CreateSymbolicLink(path, target);

        Action lockIt = () => CidCursor.Lock(path).Dispose();

        Win32Exception e = lockIt.Should().Throw<Win32Exception>().Which;
        e.NativeErrorCode.Should().Be(40);
        e.Message.Should().Be($"open ({path}) failed: Too many levels of symbolic links (errno 40).");
        File.ReadAllText(target).Should().Be("7\n");
    }

    [Fact]
    public void Lock_MissingFolder_ThrowsFileNotFound()
    {
        string path = Path.Combine(_temp.Path, "missing", "cursor");

        Action lockIt = () => CidCursor.Lock(path).Dispose();

        lockIt.Should().Throw<FileNotFoundException>().WithMessage($"open ({path}) failed: No such file or directory (errno 2).");
    }

    [Fact(Timeout = 30_000)]
    public async Task Lock_IsAnExclusiveFlock_DroppedOnDispose()
    {
        string path = Path.Combine(_temp.Path, "cursor");
        using SafeFileHandle other = Interop.Sys.Open(path, Interop.Sys.O_RDWR | Interop.Sys.O_CREAT | Interop.Sys.O_CLOEXEC, 0x180);
        other.IsInvalid.Should().BeFalse();

        using (CidCursor.Lock(path))
        {
            Interop.Sys.Flock(other, Interop.Sys.LOCK_EX | Interop.Sys.LOCK_NB).Should().Be(-1, "the cursor holds the lock");
            ((int)Interop.LastErrno).Should().Be(11, "EWOULDBLOCK");
        }

        // A process another test forks at this instant may hold a copy of the closed descriptor until its exec.
        (await ProcessProbe.WaitUntilAsync(() => Interop.Sys.Flock(other, Interop.Sys.LOCK_EX | Interop.Sys.LOCK_NB) == 0, TimeSpan.FromSeconds(20)))
            .Should().BeTrue("disposing the cursor closes the file, which drops the lock");
    }

    [Theory]
    [InlineData("17\n\n", 17L)] // every trailing newline is trimmed
    [InlineData("17", 17L)]
    [InlineData("\n", null)]
    [InlineData(" 17\n", null)]
    [InlineData("+17\n", null)]
    [InlineData("1 7\n", null)]
    public void Read_Content_IsACounterOrNothing(string content, long? expected)
    {
        string path = Path.Combine(_temp.Path, "cursor");
        File.WriteAllBytes(path, Encoding.ASCII.GetBytes(content));

        using CidCursor cursor = CidCursor.Lock(path);

        cursor.Read().Should().Be(expected);
    }

    [Fact]
    public void Allocate_WholeRangeHeld_ThrowsExhaustedWithTheRange_AfterHandingOutEachCidOnce()
    {
        var allocator = new CidAllocator(_namespace, 40, 42, Path.Combine(_temp.Path, "cursor"));

        using CidLease a = allocator.Allocate();
        using CidLease b = allocator.Allocate();
        using CidLease c = allocator.Allocate();
        Action full = () => allocator.Allocate();

        new[] { a.Cid, b.Cid, c.Cid }.Should().Equal(40, 41, 42);
        CidExhaustedException e = full.Should().Throw<CidExhaustedException>().Which;
        e.FirstCid.Should().Be(40);
        e.LastCid.Should().Be(42);
        e.Message.Should().Be(
            "No free vsock CID: all 3 CIDs in 40..42 are held by live VMs on this host (or by other holders of their socket names). "
            + "Dispose VMs you no longer need, or widen VirtualizationServiceOptions.FirstGuestCid/LastGuestCid.");
        File.ReadAllText(Path.Combine(_temp.Path, "cursor")).Should().Be("3\n", "a failed allocation does not move the cursor");
        allocator.HeldCount.Should().Be(3);
    }

    [Fact]
    public void Allocate_OnlyCidSquattedByAnotherSocket_ThrowsExhausted_WithoutMovingTheCursor()
    {
        var allocator = new CidAllocator(_namespace, 60, 60, Path.Combine(_temp.Path, "cursor"));
        using Socket squat = BindName(60);

        Action full = () => allocator.Allocate();

        CidExhaustedException e = full.Should().Throw<CidExhaustedException>().Which;
        (e.FirstCid, e.LastCid).Should().Be((60, 60));
        e.Message.Should().StartWith("No free vsock CID: all 1 CIDs in 60..60 are held");
        new FileInfo(Path.Combine(_temp.Path, "cursor")).Length.Should().Be(0);
        allocator.HeldCount.Should().Be(0);
    }

    [Fact]
    public void Allocate_CursorPathIsADirectory_ThrowsEISDIR_AndHoldsNothing()
    {
        string cursor = Directory.CreateDirectory(Path.Combine(_temp.Path, "cursor")).FullName;
        var allocator = new CidAllocator(_namespace, 70, 71, cursor);

        Action allocate = () => allocator.Allocate();

        allocate.Should().Throw<Win32Exception>().Which.NativeErrorCode.Should().Be(21);
        allocator.HeldCount.Should().Be(0);
        NameIsFree(70).Should().BeTrue("no socket was bound before the cursor was locked");
    }

    private Socket BindName(int cid) => CidNames.Bind(_namespace, cid);

    private bool NameIsFree(int cid) => CidNames.IsFree(_namespace, cid);
}
