using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Virtualization.Core.Lifecycle;
using Virtualization.Core.Tests.Infrastructure;
using static Virtualization.Core.Interop.Sys;

namespace Virtualization.Core.Tests.Lifecycle;

/// <summary>
/// The managed view of <c>struct statx</c>, the open flags and the ioctl number used to look at user-supplied files,
/// against the C headers of this machine (whatever its architecture), and against .NET's own view of real files.
/// </summary>
public sealed class StatxLayoutTests
{
    private const string CProgram = """
        #define _GNU_SOURCE
        #include <stddef.h>
        #include <stdio.h>
        #include <fcntl.h>
        #include <sys/stat.h>
        #include <sys/ioctl.h>
        #include <linux/fs.h>

        int main(void)
        {
            printf("sizeof %zu\n", sizeof(struct statx));
            printf("stx_mask %zu\n", offsetof(struct statx, stx_mask));
            printf("stx_mode %zu\n", offsetof(struct statx, stx_mode));
            printf("stx_size %zu\n", offsetof(struct statx, stx_size));
            printf("stx_rdev_major %zu\n", offsetof(struct statx, stx_rdev_major));
            printf("stx_rdev_minor %zu\n", offsetof(struct statx, stx_rdev_minor));
            printf("AT_FDCWD %d\nAT_EMPTY_PATH %d\n", AT_FDCWD, AT_EMPTY_PATH);
            printf("STATX_TYPE %u\nSTATX_MODE %u\nSTATX_SIZE %u\n", STATX_TYPE, STATX_MODE, STATX_SIZE);
            printf("S_IFMT %d\nS_IFSOCK %d\nS_IFLNK %d\nS_IFREG %d\nS_IFBLK %d\nS_IFDIR %d\nS_IFCHR %d\nS_IFIFO %d\n",
                   S_IFMT, S_IFSOCK, S_IFLNK, S_IFREG, S_IFBLK, S_IFDIR, S_IFCHR, S_IFIFO);
            printf("O_RDONLY %d\nO_RDWR %d\nO_NOCTTY %d\nO_NONBLOCK %d\nO_CLOEXEC %d\n", O_RDONLY, O_RDWR, O_NOCTTY, O_NONBLOCK, O_CLOEXEC);
            printf("BLKGETSIZE64 %lu\n", (unsigned long)BLKGETSIZE64);
            return 0;
        }
        """;

    [SkippableFact(Timeout = 60_000)]
    public async Task ManagedStatxAndFlags_MatchTheCHeaders()
    {
        CHeaderProbe.Values c = await CHeaderProbe.RunAsync(CProgram, "sys/stat.h", "linux/fs.h");
        long N(string key) => c[key];

        N("sizeof").Should().Be(StatxBuffer.Size).And.Be(Marshal.SizeOf<StatxBuffer>());
        N("stx_mask").Should().Be(Marshal.OffsetOf<StatxBuffer>(nameof(StatxBuffer.Mask)));
        N("stx_mode").Should().Be(Marshal.OffsetOf<StatxBuffer>(nameof(StatxBuffer.Mode)));
        N("stx_size").Should().Be(Marshal.OffsetOf<StatxBuffer>(nameof(StatxBuffer.FileSize)));
        N("stx_rdev_major").Should().Be(Marshal.OffsetOf<StatxBuffer>(nameof(StatxBuffer.RdevMajor)));
        N("stx_rdev_minor").Should().Be(Marshal.OffsetOf<StatxBuffer>(nameof(StatxBuffer.RdevMinor)));
        N("AT_FDCWD").Should().Be(AT_FDCWD);
        N("AT_EMPTY_PATH").Should().Be(AT_EMPTY_PATH);
        N("STATX_TYPE").Should().Be(STATX_TYPE);
        N("STATX_MODE").Should().Be(STATX_MODE);
        N("STATX_SIZE").Should().Be(STATX_SIZE);
        N("S_IFMT").Should().Be(S_IFMT);
        N("S_IFSOCK").Should().Be(S_IFSOCK);
        N("S_IFLNK").Should().Be(S_IFLNK);
        N("S_IFREG").Should().Be(S_IFREG);
        N("S_IFBLK").Should().Be(S_IFBLK);
        N("S_IFDIR").Should().Be(S_IFDIR);
        N("S_IFCHR").Should().Be(S_IFCHR);
        N("S_IFIFO").Should().Be(S_IFIFO);
        N("O_RDONLY").Should().Be(O_RDONLY);
        N("O_RDWR").Should().Be(O_RDWR);
        N("O_NOCTTY").Should().Be(O_NOCTTY);
        N("O_NONBLOCK").Should().Be(O_NONBLOCK);
        N("O_CLOEXEC").Should().Be(O_CLOEXEC);
        N("BLKGETSIZE64").Should().Be(BLKGETSIZE64);
    }

    /// <summary>Needs no compiler: statx through our struct agrees with .NET on real files of every kind.</summary>
    [Fact(Timeout = 30_000)]
    public async Task Statx_AgreesWithDotnetOnSizeModeAndDeviceNumbers()
    {
        using var temp = new TempDir("vct-statx-files-");
        string dir = temp.Path;
        string file = Path.Combine(dir, "f.bin");
        await File.WriteAllBytesAsync(file, new byte[12345]);
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);

        Stat(file).FileType.Should().Be(S_IFREG);
        ((long)Stat(file).FileSize).Should().Be(12345);
        (Stat(file).Mode & 0x1FF).Should().Be((int)File.GetUnixFileMode(file));
        Stat(dir).FileType.Should().Be(S_IFDIR);
        Stat("/dev/null").FileType.Should().Be(S_IFCHR);
        (Stat("/dev/null").RdevMajor, Stat("/dev/null").RdevMinor).Should().Be((1u, 3u), "/dev/null is character device 1:3 on Linux");
        Stat(await SpecialFiles.FifoAsync(Path.Combine(dir, "fifo"))).FileType.Should().Be(S_IFIFO);
        using (SpecialFiles.BoundSocket(Path.Combine(dir, "s.sock")))
        {
            Stat(Path.Combine(dir, "s.sock")).FileType.Should().Be(S_IFSOCK);
        }


        using SafeFileHandle handle = Open(file, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        handle.IsInvalid.Should().BeFalse();
        Statx(handle, string.Empty, AT_EMPTY_PATH, STATX_TYPE | STATX_SIZE, out StatxBuffer byFd).Should().Be(0);
        byFd.FileType.Should().Be(S_IFREG);
        ((long)byFd.FileSize).Should().Be(12345);

        InputFile.Probe(file, writable: true).Should().Be(new InputFileInfo(InputFileKind.RegularFile, 12345));
    }

    private static StatxBuffer Stat(string path)
    {
        Statx(AT_FDCWD, path, 0, STATX_TYPE | STATX_MODE | STATX_SIZE, out StatxBuffer buffer).Should().Be(0, "statx({0}) succeeds", path);
        return buffer;
    }
}
