using System.ComponentModel;
using Virtualization.Core.Lifecycle;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Lifecycle;

/// <summary>
/// <see cref="InputFile"/> alone: what <see cref="InputFile.Probe"/> reports for each kind of file and each errno of its
/// <c>statx</c> and <c>open</c>, with the exact exception type and message (errno texts are glibc's), and the words
/// <see cref="InputFile.Describe"/> and <see cref="InputFile.Explain"/> put in the configuration errors. The EMFILE case
/// lowers the process's descriptor limit, so it is in <see cref="LowDescriptorLimitTests"/>.
/// </summary>
public sealed class InputFileErrorTests : IDisposable
{
    /// <summary>A regular file that opens for reading but not for writing, not even as root (sysfs: EACCES).</summary>
    private const string ReadOnlyForRoot = "/sys/kernel/uevent_seqnum";

    private readonly TempDir _temp = new("vct-inputfile-");

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Probe_RegularFile_IsItsKindAndExactSize(bool writable)
    {
        string path = Path.Combine(_temp.Path, "kernel");
        File.WriteAllBytes(path, new byte[12345]);

        InputFile.Probe(path, writable).Should().Be(new InputFileInfo(InputFileKind.RegularFile, 12345));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Probe_Directory_IsReportedWithoutOpeningIt(bool writable)
    {
        // Opened for writing, a directory fails with EISDIR: the probe must stop at statx.
        InputFile.Probe(_temp.Path, writable).Should().Be(new InputFileInfo(InputFileKind.Directory, 0));
    }

    [Fact(Timeout = 30_000)]
    public async Task Probe_Fifo_IsReportedWithoutOpeningIt()
    {
        string fifo = await SpecialFiles.FifoAsync(Path.Combine(_temp.Path, "fifo"));

        // Opened for writing with O_NONBLOCK and no reader, a FIFO fails with ENXIO: the probe must stop at statx.
        InputFile.Probe(fifo, writable: true).Should().Be(new InputFileInfo(InputFileKind.Fifo, 0));
        InputFile.Probe(fifo, writable: false).Should().Be(new InputFileInfo(InputFileKind.Fifo, 0));
    }

    [Fact]
    public void Probe_Socket_IsReportedWithoutOpeningIt()
    {
        string path = Path.Combine(_temp.Path, "s.sock");
        using var bound = SpecialFiles.BoundSocket(path);

        // open(2) of a socket fails with ENXIO: the probe must stop at statx.
        InputFile.Probe(path, writable: false).Should().Be(new InputFileInfo(InputFileKind.Socket, 0));
    }

    [Fact]
    public void Probe_CharacterDevice_IsReportedWithoutOpeningIt()
    {
        InputFile.Probe("/dev/null", writable: true).Should().Be(new InputFileInfo(InputFileKind.CharacterDevice, 0));
    }

    [SkippableFact(Timeout = 60_000)]
    public async Task Probe_LoopBlockDevice_IsABlockDeviceOfItsBackingFilesSize()
    {
        string backing = Path.Combine(_temp.Path, "backing.img");
        File.WriteAllBytes(backing, new byte[2 * 1024 * 1024]);
        (string? device, string reason) = await SpecialFiles.TryAttachLoopAsync(backing);
        Skip.If(device is null, reason);
        try
        {
            InputFile.Probe(device!, writable: false).Should().Be(new InputFileInfo(InputFileKind.BlockDevice, 2 * 1024 * 1024));
        }
        finally
        {
            await SpecialFiles.DetachLoopAsync(device!);
        }
    }

    [Fact]
    public void Probe_Missing_ThrowsFileNotFoundNamingThePath()
    {
        string path = Path.Combine(_temp.Path, "missing");

        Action probe = () => InputFile.Probe(path, writable: false);

        FileNotFoundException e = probe.Should().Throw<FileNotFoundException>().Which;
        e.Message.Should().Be($"statx ({path}) failed: No such file or directory (errno 2).");
        e.FileName.Should().Be(path);
    }

    [Fact]
    public void Probe_SymbolicLinkLoop_ThrowsELOOP()
    {
        string a = Path.Combine(_temp.Path, "a");
        string b = Path.Combine(_temp.Path, "b");
        File.CreateSymbolicLink(a, b);
        File.CreateSymbolicLink(b, a);

        Action probe = () => InputFile.Probe(a, writable: false);

        Win32Exception e = probe.Should().Throw<Win32Exception>().Which;
        e.NativeErrorCode.Should().Be(40);
        e.Message.Should().Be($"statx ({a}) failed: Too many levels of symbolic links (errno 40).");
    }

    [Fact]
    public void Probe_ThroughARegularFile_ThrowsENOTDIR()
    {
        string file = Path.Combine(_temp.Path, "file");
        File.WriteAllText(file, "x");
        string path = file + "/kernel";

        Action probe = () => InputFile.Probe(path, writable: false);

        Win32Exception e = probe.Should().Throw<Win32Exception>().Which;
        e.NativeErrorCode.Should().Be(20);
        e.Message.Should().Be($"statx ({path}) failed: Not a directory (errno 20).");
    }

    [Fact]
    public void Probe_NameLongerThan255Bytes_ThrowsENAMETOOLONG()
    {
        string path = Path.Combine(_temp.Path, new string('k', 256));

        Action probe = () => InputFile.Probe(path, writable: false);

        Win32Exception e = probe.Should().Throw<Win32Exception>().Which;
        e.NativeErrorCode.Should().Be(36);
        e.Message.Should().Be($"statx ({path}) failed: File name too long (errno 36).");
    }

    [SkippableFact]
    public void Probe_ReadOnlySysfsFile_OpensForReadingButNotForWriting()
    {
        Skip.IfNot(File.Exists(ReadOnlyForRoot), $"{ReadOnlyForRoot} is missing (no sysfs)");

        InputFile.Probe(ReadOnlyForRoot, writable: false).Kind.Should().Be(InputFileKind.RegularFile);
        Action probe = () => InputFile.Probe(ReadOnlyForRoot, writable: true);

        probe.Should().Throw<UnauthorizedAccessException>().WithMessage(
            $"open for reading and writing ({ReadOnlyForRoot}) failed: Permission denied (errno 13).");
    }

    [Theory]
    [InlineData("RegularFile", "a regular file")]
    [InlineData("BlockDevice", "a block device")]
    [InlineData("Directory", "a directory")]
    [InlineData("Fifo", "a FIFO")]
    [InlineData("Socket", "a socket")]
    [InlineData("CharacterDevice", "a character device")]
    [InlineData("Other", "a special file")]
    public void Describe_EachKind_IsItsPhrase(string kind, string expected)
    {
        InputFile.Describe(Enum.Parse<InputFileKind>(kind)).Should().Be(expected);
    }

    [Theory]
    [InlineData("ENOENT", false, "does not exist")]
    [InlineData("no-directory", true, "does not exist")]
    [InlineData("ENOTDIR", false, "does not exist (a component of the path is not a directory)")]
    [InlineData("EACCES", false, "cannot be opened for reading: permission denied")]
    [InlineData("EACCES", true, "cannot be opened for reading and writing: permission denied")]
    [InlineData("EROFS", true, "cannot be opened for writing: it is on a read-only file system")]
    [InlineData("ELOOP", false, "cannot be opened: Too many levels of symbolic links (errno 40)")]
    [InlineData("EIO", false, "cannot be opened: Input/output error")]
    public void Explain_EachFailure_IsItsSentenceEnd(string failure, bool writable, string expected)
    {
        Exception e = failure switch
        {
            "ENOENT" => new FileNotFoundException("x"),
            "no-directory" => new DirectoryNotFoundException("x"),
            "ENOTDIR" => new Win32Exception(20, "x"),
            "EACCES" => new UnauthorizedAccessException("x"),
            "EROFS" => new Win32Exception(30, "x"),
            "ELOOP" => new Win32Exception(40, "x"),
            "EIO" => new IOException("Input/output error."),
            _ => throw new ArgumentOutOfRangeException(nameof(failure)),
        };

        InputFile.Explain(e, writable).Should().Be(expected);
    }

    [Fact]
    public void IsProbeFailure_TheExceptionsProbeThrows_AndNoOthers()
    {
        InputFile.IsProbeFailure(new FileNotFoundException()).Should().BeTrue();
        InputFile.IsProbeFailure(new DirectoryNotFoundException()).Should().BeTrue();
        InputFile.IsProbeFailure(new UnauthorizedAccessException()).Should().BeTrue();
        InputFile.IsProbeFailure(new Win32Exception(5)).Should().BeTrue();
        InputFile.IsProbeFailure(new IOException()).Should().BeTrue();
        InputFile.IsProbeFailure(new ArgumentException()).Should().BeTrue("EINVAL");
        InputFile.IsProbeFailure(new InvalidOperationException()).Should().BeFalse();
        InputFile.IsProbeFailure(new OverflowException()).Should().BeFalse();
    }
}
