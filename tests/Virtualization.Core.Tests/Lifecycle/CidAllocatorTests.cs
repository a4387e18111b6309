using Virtualization.Core.Tests.Infrastructure;
using System.Globalization;
using System.Net.Sockets;
using Microsoft.Win32.SafeHandles;
using Virtualization.Core.Lifecycle;

namespace Virtualization.Core.Tests.Lifecycle;

/// <summary>
/// The CID allocator alone: uniqueness through abstract socket names, the forward-only shared cursor, and CIDs held by
/// someone else. Every test uses a CID namespace of its own, so tests running at the same time never meet.
/// </summary>
public sealed class CidAllocatorTests : IDisposable
{
    private readonly TempDir _temp = new("vct-cid-");
    private readonly string _namespace = "t" + Guid.NewGuid().ToString("N");

    public void Dispose() => _temp.Dispose();

    [Fact(Timeout = 60_000)]
    public async Task Allocate_TwoAllocatorsOnManyThreads_NeverHandOutACidThatIsHeld()
    {
        // Separate cursor files: both start at the same place, only the sockets keep them apart.
        CidAllocator a = Allocator(10, 33, "a");
        CidAllocator b = Allocator(10, 33, "b");
        var held = new HashSet<int>();
        var duplicates = new List<int>();

        await Task.WhenAll(Enumerable.Range(0, 8).Select(thread => Task.Run(() =>
        {
            CidAllocator allocator = thread % 2 == 0 ? a : b;
            var mine = new Queue<CidLease>();
            for (int i = 0; i < 300; i++)
            {
                CidLease lease = allocator.Allocate();
                lock (held)
                {
                    if (!held.Add(lease.Cid))
                    {
                        duplicates.Add(lease.Cid);
                    }
                }

                mine.Enqueue(lease);
                if (mine.Count == 2)
                {
                    // At most 8 threads x 2 = 16 of the 24 CIDs are held at once: the range never runs out.
                    CidLease oldest = mine.Dequeue();
                    lock (held)
                    {
                        held.Remove(oldest.Cid);
                    }

                    oldest.Dispose();
                }
            }

            foreach (CidLease lease in mine)
            {
                lock (held)
                {
                    held.Remove(lease.Cid);
                }

                lease.Dispose();
            }
        })));

        duplicates.Should().BeEmpty("a CID is handed out only while nobody else holds it");
        a.HeldCount.Should().Be(0);
        b.HeldCount.Should().Be(0);
    }

    [Fact(Timeout = 60_000)]
    public async Task Allocate_ThreeAllocatorsConcurrentlyWithoutWrapping_EachSeesStrictlyIncreasingNeverReusedCids()
    {
        // One shared cursor, a range larger than everything handed out: if the cursor never moves backward, every CID
        // handed out is new, and each allocator sees its CIDs increase, whatever the interleaving. (The old cursor was
        // read and rewritten without a lock: a torn read made an allocator publish a stale cursor, rewinding the others.)
        const int PerAllocator = 150;
        CidAllocator[] allocators = [Allocator(1000, 2999), Allocator(1000, 2999), Allocator(1000, 2999)];
        var seen = new List<int>[3];

        await Task.WhenAll(Enumerable.Range(0, 3).Select(index => Task.Run(() =>
        {
            var mine = new List<int>();
            var heldHere = new Queue<CidLease>();
            for (int i = 0; i < PerAllocator; i++)
            {
                CidLease lease = allocators[index].Allocate();
                mine.Add(lease.Cid);
                heldHere.Enqueue(lease);
                if (heldHere.Count > 2)
                {
                    heldHere.Dequeue().Dispose();
                }

                if (index == 2)
                {
                    Thread.SpinWait(20_000); // the slow one: its view of the cursor is the stalest
                }
            }

            while (heldHere.TryDequeue(out CidLease? lease))
            {
                lease.Dispose();
            }

            seen[index] = mine;
        })));

        foreach (List<int> cids in seen)
        {
            cids.Should().BeInAscendingOrder("an allocator never goes back to CIDs below ones it already had")
                .And.OnlyHaveUniqueItems();
        }

        seen.SelectMany(c => c).Should().OnlyHaveUniqueItems("without a wrap, no CID comes round twice");
    }

    [Fact(Timeout = 60_000)]
    public async Task Allocate_ThreeAllocatorsInterleavedAcrossWraps_CursorPositionsOnlyMoveForward()
    {
        // A range of 16 used ~28 times over. Positions are the cursor values the CIDs were taken at (CID = first +
        // position mod 16): each allocator's must strictly increase, the shared cursor gives each position to one
        // allocation only, and CIDs follow the positions, so "forward modulo the wrap" is checked exactly.
        const int First = 40, Size = 16;
        CidAllocator[] allocators = [Allocator(First, First + Size - 1), Allocator(First, First + Size - 1), Allocator(First, First + Size - 1)];
        var leases = new List<CidLease>[3];

        await Task.WhenAll(Enumerable.Range(0, 3).Select(index => Task.Run(() =>
        {
            var mine = new List<CidLease>();
            var heldHere = new Queue<CidLease>();
            for (int i = 0; i < 150; i++)
            {
                CidLease lease = allocators[index].Allocate();
                mine.Add(lease);
                heldHere.Enqueue(lease);
                if (heldHere.Count > 1 + index)
                {
                    heldHere.Dequeue().Dispose();
                }
            }

            while (heldHere.TryDequeue(out CidLease? lease))
            {
                lease.Dispose();
            }

            leases[index] = mine;
        })));

        foreach (List<CidLease> mine in leases)
        {
            mine.Select(l => l.Position).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems("an allocator's cursor only moves forward");
            mine.Should().OnlyContain(l => l.Cid == First + (int)(l.Position % Size));
            mine.Zip(mine.Skip(1)).Should().OnlyContain(
                pair => (pair.Second.Cid - pair.First.Cid + Size) % Size == (pair.Second.Position - pair.First.Position) % Size,
                "between two CIDs of one allocator, the forward distance modulo the range is how far the cursor moved");
        }

        leases.SelectMany(l => l).Select(l => l.Position).Should().OnlyHaveUniqueItems("the shared cursor hands each position out once");
        leases.SelectMany(l => l).Max(l => l.Position).Should().BeGreaterThan(3 * Size, "the test must actually wrap around");
        allocators.Should().OnlyContain(a => a.HeldCount == 0);
    }

    [Theory]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("<NUL bytes>")]
    [InlineData("-5")]
    [InlineData("12abc")]
    [InlineData("0")]
    [InlineData("99999999999999999999999999")]
    [InlineData("4611686018427387905")]
    public void Allocate_CursorFileDamagedOrRewound_DoesNotRewindAndRewritesIt(string content)
    {
        CidAllocator allocator = Allocator(100, 199);
        for (int i = 0; i < 5; i++)
        {
            allocator.Allocate().Dispose();
        }

        WriteCursor(content == "<NUL bytes>" ? "\0\0\0\0" : content);

        using CidLease lease = allocator.Allocate();

        lease.Cid.Should().Be(105, "the allocator continues after the last CID it handed out, not from the file's value");
        ReadCursor().Should().Be("6\n", "the file is overwritten with the larger value");
    }

    [Fact]
    public void Allocate_CursorFileAhead_IsFollowed()
    {
        CidAllocator allocator = Allocator(100, 199);
        allocator.Allocate().Dispose();
        WriteCursor("1234\n");

        using CidLease lease = allocator.Allocate();

        lease.Position.Should().Be(1234, "another allocator of this user moved the cursor on");
        lease.Cid.Should().Be(134);
        ReadCursor().Should().Be("1235\n");
    }

    [Fact(Timeout = 30_000)]
    public async Task Allocate_CidsHeldByForeignSockets_AreSkipped()
    {
        CidAllocator allocator = Allocator(500, 503);
        using Socket squat500 = BindName(500);
        using Socket squat502 = BindName(502);

        using CidLease first = allocator.Allocate();
        using CidLease second = allocator.Allocate();
        Action full = () => allocator.Allocate();

        first.Cid.Should().Be(501);
        second.Cid.Should().Be(503);
        full.Should().Throw<CidExhaustedException>().Which.Message.Should().Contain("500..503");
        squat500.Dispose();

        // A child forked by another test at that instant holds a copy of the socket until it execs: wait for the name.
        (await ProcessProbe.WaitUntilAsync(() => NameIsFree(500), TimeSpan.FromSeconds(10))).Should().BeTrue();
        using CidLease third = allocator.Allocate();
        third.Cid.Should().Be(500, "the name was freed when the foreign socket closed");
    }

    [Fact(Timeout = 30_000)]
    public async Task Lease_Disposed_FreesTheName()
    {
        CidAllocator allocator = Allocator(600, 600);
        CidLease lease = allocator.Allocate();
        Action bindWhileHeld = () => BindName(600).Dispose();
        bindWhileHeld.Should().Throw<SocketException>().Which.SocketErrorCode.Should().Be(SocketError.AddressAlreadyInUse);

        lease.Dispose();
        lease.Dispose();

        allocator.HeldCount.Should().Be(0);

        // The name is free once no process holds the socket: a child forked by another test at that instant holds a
        // copy until it execs (the socket is close-on-exec), so allow for that.
        (await ProcessProbe.WaitUntilAsync(() => NameIsFree(600), TimeSpan.FromSeconds(10)))
            .Should().BeTrue("a released CID's name is free again");
    }

    [Fact]
    public void Allocate_HoldsTheCidOnACloseOnExecSocket()
    {
        CidAllocator allocator = Allocator(800, 800);
        using CidLease lease = allocator.Allocate();

        string flags = File.ReadLines($"/proc/self/fdinfo/{DescriptorHolding(800)}").First(l => l.StartsWith("flags:", StringComparison.Ordinal));
        (Convert.ToInt32(flags["flags:".Length..].Trim(), 8) & 0x80000).Should().NotBe(0, "VMM processes must not inherit CID sockets (O_CLOEXEC)");
    }

    [Fact(Timeout = 30_000)]
    public async Task AllocateAsync_RangeFullWhileAReleasedCidIsStillPinned_WaitsForThePinToGo()
    {
        CidAllocator allocator = Allocator(900, 901);
        using CidLease a = allocator.Allocate();
        CidLease b = allocator.Allocate();
        Task<CidLease> waiting;

        // What a process forked at the instant of the release holds until it execs: a copy of the CID's socket.
        using (SafeFileHandle pin = TestInterop.Dup(DescriptorHolding(901)))
        {
            pin.IsInvalid.Should().BeFalse();
            b.Dispose();
            Action full = () => allocator.Allocate();
            full.Should().Throw<CidExhaustedException>("the copy keeps the name bound");

            waiting = allocator.AllocateAsync(CancellationToken.None);
            waiting.IsCompleted.Should().BeFalse("a CID released a moment ago is waited for, not reported as exhausted");
            using var cancelled = new CancellationTokenSource();
            Task<CidLease> cancelledWait = allocator.AllocateAsync(cancelled.Token);
            await cancelled.CancelAsync();
            await cancelledWait.Awaiting(t => t).Should().ThrowAsync<OperationCanceledException>();
            waiting.IsCompleted.Should().BeFalse();
        }

        using CidLease c = await waiting;
        c.Cid.Should().Be(901);
    }

    [Fact(Timeout = 30_000)]
    public async Task AllocateAsync_RangeFullWithNothingReleased_ThrowsAtOnce()
    {
        CidAllocator allocator = Allocator(910, 910);
        using CidLease a = allocator.Allocate();

        Func<Task> full = () => allocator.AllocateAsync(CancellationToken.None);

        (await full.Should().ThrowAsync<CidExhaustedException>()).Which.FirstCid.Should().Be(910);
    }

    // The descriptor of this process that holds CID cid's socket: /proc/net/unix has "... Inode @name", and the
    // descriptor links to socket:[Inode].
    private int DescriptorHolding(int cid)
    {
        string name = $"@virtualization-core/{_namespace}/cid/{cid}";
        string inode = File.ReadLines("/proc/net/unix").Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Single(f => f.Length >= 8 && f[7] == name)[6];
        string fd = Directory.GetFileSystemEntries("/proc/self/fd")
            .Single(f => new FileInfo(f).LinkTarget == $"socket:[{inode}]");
        return int.Parse(Path.GetFileName(fd), CultureInfo.InvariantCulture);
    }

    [Fact]
    public void Allocate_SameCidNumbersInAnotherNamespace_AreIndependent()
    {
        CidAllocator here = Allocator(700, 700);
        var elsewhere = new CidAllocator("o" + Guid.NewGuid().ToString("N"), 700, 700, Path.Combine(_temp.Path, "other-cursor"));

        using CidLease a = here.Allocate();
        using CidLease b = elsewhere.Allocate();

        a.Cid.Should().Be(b.Cid, "namespaces isolate, for example, concurrent test runs");
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("slash/inside")]
    [InlineData("new\nline")]
    [InlineData("ünïcode")]
    public void Constructor_BadNamespace_ThrowsNamingTheOption(string cidNamespace)
    {
        Action create = () => _ = new VirtualizationService(new VirtualizationServiceOptions { CidNamespace = cidNamespace });
        create.Should().Throw<ArgumentException>().WithMessage("*CidNamespace*1-64*");
    }

    [Fact]
    public void Constructor_NamespaceLimits_AreAcceptedOrRefused()
    {
        Action longest = () => _ = new VirtualizationService(new VirtualizationServiceOptions { CidNamespace = new string('a', 64) });
        longest.Should().NotThrow();
        Action allKinds = () => _ = new VirtualizationService(new VirtualizationServiceOptions { CidNamespace = "Az09._-" });
        allKinds.Should().NotThrow();
        Action tooLong = () => _ = new VirtualizationService(new VirtualizationServiceOptions { CidNamespace = new string('a', 65) });
        tooLong.Should().Throw<ArgumentException>();
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    public void AllocatorConstructor_BadNamespace_ThrowsNamingTheOptions(string cidNamespace)
    {
        Action create = () => _ = new CidAllocator(cidNamespace, 100, 199, CursorPath());

        ArgumentException thrown = create.Should().Throw<ArgumentException>().Which;
        thrown.ParamName.Should().Be("options");
        thrown.Message.Should().Be(
            $"CidNamespace must be 1-64 characters of A-Z, a-z, 0-9, '.', '_' and '-' (got '{cidNamespace}'). "
            + "Keep the default unless you isolate tests. (Parameter 'options')");
        File.Exists(CursorPath()).Should().BeFalse("nothing is touched");
    }

    [Fact]
    public void Allocate_DamagedCursorFile_IsReportedToTheAllocatorsLogger()
    {
        var log = new ListLogger();
        var allocator = new CidAllocator(_namespace, 100, 199, CursorPath(), log);
        allocator.Allocate().Dispose();
        allocator.Allocate().Dispose();
        WriteCursor("garbage");

        using CidLease lease = allocator.Allocate();

        lease.Cid.Should().Be(102);
        log.Entries.Should().ContainSingle().Which.Message.Should().Be(
            $"The CID cursor file {CursorPath()} did not hold a counter; it is rewritten, continuing from this service's own position 2");
    }

    [Fact]
    public void HeldCount_CountsTheLeasesNotYetDisposed()
    {
        CidAllocator allocator = Allocator(300, 309);
        allocator.HeldCount.Should().Be(0);

        CidLease a = allocator.Allocate();
        CidLease b = allocator.Allocate();
        int both = allocator.HeldCount;
        a.Dispose();
        int one = allocator.HeldCount;
        b.Dispose();

        both.Should().Be(2);
        one.Should().Be(1);
        allocator.HeldCount.Should().Be(0);
    }

    private string CursorPath(string name = "cursor") => Path.Combine(_temp.Path, name);

    private CidAllocator Allocator(int first, int last, string cursor = "cursor") =>
        new(_namespace, first, last, CursorPath(cursor));

    private Socket BindName(int cid) => CidNames.Bind(_namespace, cid);

    private bool NameIsFree(int cid) => CidNames.IsFree(_namespace, cid);

    /// <summary>
    /// Writes the cursor file without .NET's advisory lock: File.WriteAllText takes a non-blocking flock, which fails for
    /// an instant when a process forked by another test still shares the allocator's just-closed descriptor.
    /// </summary>
    private void WriteCursor(string content)
    {
        using Microsoft.Win32.SafeHandles.SafeFileHandle file = Interop.Sys.Open(
            CursorPath(), Interop.Sys.O_RDWR | Interop.Sys.O_CLOEXEC | 0x200 /* O_TRUNC */);
        file.IsInvalid.Should().BeFalse("the cursor file exists after the first allocation");
        System.IO.RandomAccess.Write(file, System.Text.Encoding.ASCII.GetBytes(content), 0);
    }

    private string ReadCursor()
    {
        using Microsoft.Win32.SafeHandles.SafeFileHandle file = Interop.Sys.Open(
            CursorPath(), Interop.Sys.O_RDONLY | Interop.Sys.O_CLOEXEC);
        byte[] buffer = new byte[256];
        int read = System.IO.RandomAccess.Read(file, buffer, 0);
        return System.Text.Encoding.ASCII.GetString(buffer, 0, read);
    }
}
