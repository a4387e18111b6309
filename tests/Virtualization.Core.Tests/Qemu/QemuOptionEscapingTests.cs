using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Virtualization.Core.Qemu;
using Virtualization.Core.Tests.Infrastructure;
using Virtualization.Core.Vmm;

namespace Virtualization.Core.Tests.Qemu;

/// <summary>
/// Issue #9: QEMU splits option values at single commas (<c>,,</c> is a literal comma), so every path inside a
/// <c>key=value</c> option must have its commas doubled; <c>-kernel</c>, <c>-initrd</c>, <c>-bios</c> and
/// <c>-append</c> take plain strings and must not be escaped.
/// </summary>
[Collection(QemuGuests.Name)]
public sealed class QemuOptionEscapingTests
{
    private const string Folder = "/tmp/t,server=off/vm-3";

    [Fact]
    public void Build_QmpSocketInFolderWithComma_DoublesTheComma()
    {
        List<string> argv = QemuCommandLine.Build(Request(Folder, []), useKvm: false, withVsock: false);

        string qmp = ValueOf(argv, "-qmp");
        qmp.Should().Be("unix:/tmp/t,,server=off/vm-3/qmp.sock,server=on,wait=off");
        SplitQemuOptions(qmp).Should().Equal("unix:/tmp/t,server=off/vm-3/qmp.sock", "server=on", "wait=off");
    }

    [Theory]
    [InlineData("/d/a,b.img")]
    [InlineData("/d/x,format=qcow2,y.img")]
    [InlineData("/d/,,two,,.img")]
    [InlineData("/d/ends,")]
    [InlineData("/d/sp ace=\"q\" it's\nnl.img")]
    public void Build_DrivePath_DecodesToThePathAndOurKeysOnly(string path)
    {
        List<string> argv = QemuCommandLine.Build(Request("/t", [new VmmDisk(path, Writable: false)]), useKvm: false, withVsock: false);

        string drive = ValueOf(argv, "-drive");
        SplitQemuOptions(drive).Should().Equal("file=" + path, "if=none", "id=disk0", "format=raw", "readonly=on");
    }

    [Fact]
    public void Build_KernelInitrdBiosAndAppend_ArePlainStringsAndNotEscaped()
    {
        var kernel = new VirtualMachineRawConfig { Kernel = "/k,a=b/vmlinuz", Initrd = "/k,a=b/initrd", Params = "a,b=c" };
        List<string> argv = QemuCommandLine.Build(Request("/t", [], kernel), useKvm: false, withVsock: false);

        ValueOf(argv, "-kernel").Should().Be("/k,a=b/vmlinuz");
        ValueOf(argv, "-initrd").Should().Be("/k,a=b/initrd");
        ValueOf(argv, "-append").Should().EndWith(" a,b=c");

        var bios = new VirtualMachineRawConfig { Bootloader = "/b,c/bios.bin" };
        ValueOf(QemuCommandLine.Build(Request("/t", [], bios), useKvm: false, withVsock: false), "-bios").Should().Be("/b,c/bios.bin");
    }

    /// <summary>
    /// The real QEMU creates its QMP socket at the exact path our argv names, in a folder named <c>t,server=off</c>
    /// (before the fix QEMU exited: "Parameter 'server' expects 'on' or 'off'").
    /// </summary>
    [SkippableFact(Timeout = 60_000)]
    [Trait("Category", "E2E")]
    public async Task RealQemu_QmpSocketInFolderNamedWithCommaServerOff_IsCreatedAtTheExactPath()
    {
        Skip.IfNot(ExecutableResolver.TryResolve("qemu-system-x86_64", out string? qemu), "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)");
        using var temp = new TempDir("vct-qemu-");
        string root = temp.Path;
        string folder = Path.Combine(root, "t,server=off", "vm-3");
        Directory.CreateDirectory(folder);
        string qmp = ValueOf(QemuCommandLine.Build(Request(folder, []), useKvm: false, withVsock: false), "-qmp");
        string socketPath = Path.Combine(folder, QemuCommandLine.QmpSocketName);

        var psi = new ProcessStartInfo(qemu!) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string arg in new[] { "-machine", "none", "-nodefaults", "-no-user-config", "-display", "none", "-qmp", qmp })
        {
            psi.ArgumentList.Add(arg);
        }

        using var process = Process.Start(psi)!;
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        try
        {
            // No FileSystemWatcher (an inotify instance): look at the folder until the socket appears or QEMU exits.
            (await ProcessProbe.WaitUntilAsync(() => File.Exists(socketPath) || process.HasExited, TimeSpan.FromSeconds(30)))
                .Should().BeTrue("QEMU either creates its socket or exits");
            File.Exists(socketPath).Should().BeTrue(
                "QEMU must accept the -qmp argument and create the socket; it exited: {0}", process.HasExited ? await stderr : string.Empty);

            // QEMU parses -qmp before it binds, so a socket at the exact path proves it took the whole path and
            // our two options. (No connect: between bind and listen QEMU would refuse it, and waiting for listen
            // would mean polling.)
            process.HasExited.Should().BeFalse("QEMU runs after creating its QMP socket");
            Virtualization.Core.Lifecycle.InputFile.Probe(socketPath, writable: false).Kind.Should().Be(Virtualization.Core.Lifecycle.InputFileKind.Socket);
            Directory.GetFileSystemEntries(root).Should().Equal([Path.Combine(root, "t,server=off")], "QEMU created nothing outside the folder it was given");
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
                await process.WaitForExitAsync();
            }
        }
    }

    /// <summary>
    /// End to end with the test guest: the VM folders live under a TemporaryDirectory named <c>t,server=off</c>, and the
    /// kernel and initrd under a folder with <c>,</c> and <c>=</c> (plain-string options: QEMU must get them verbatim).
    /// </summary>
    [SkippableFact(Timeout = 120_000)]
    [Trait("Category", "E2E")]
    public async Task RealQemu_GuestWithCommasInEveryPath_BootsAndPowersOff()
    {
        GuestImage.SkipUnlessAvailable();
        using var temp = new TempDir("vct-qemu-img-");
        string images = temp.Path;
        string dir = Path.Combine(images, "a,b=c");
        Directory.CreateDirectory(dir);
        string kernel = Path.Combine(dir, "vm,linuz");
        string initrd = Path.Combine(dir, "init,rd=x");
        File.Copy(GuestImage.Kernel, kernel);
        File.Copy(GuestImage.Initrd, initrd);
        string disk = Path.Combine(dir, "disk,format=qcow2.img");
        await File.WriteAllBytesAsync(disk, new byte[64 * 1024]);

        await using var h = GuestImage.Harness(o => o with { TemporaryDirectory = Path.Combine(o.TemporaryDirectory, "t,server=off") });
        var console = new ConsoleCapture();
        VirtualMachineRawConfig config = GuestImage.Action("poweroff") with { Kernel = kernel, Initrd = initrd, Disks = [new DiskImage(disk)] };
        IVirtualMachine vm = await h.Service.CreateVmAsync(config, console);
        await vm.StartAsync();
        h.TrackPid(vm);

        (await vm.WaitForDeathAsync()).Should().Be(DeathReason.Shutdown, "console was:\n" + console.Text);
        console.Text.Should().Contain("VCORE-GUEST: action poweroff");
    }

    private static VmmLaunchRequest Request(string folder, IReadOnlyList<VmmDisk> disks, VirtualMachineRawConfig? config = null) =>
        new(3, config ?? new VirtualMachineRawConfig { Kernel = "/k" }, disks, folder, null, NullLogger.Instance);

    private static string ValueOf(List<string> argv, string option)
    {
        int index = argv.IndexOf(option);
        index.Should().BeGreaterThanOrEqualTo(0, "{0} is in the argv", option);
        return argv[index + 1];
    }

    /// <summary>QEMU's option splitting (QemuOpts/keyval): a single comma separates, a double comma is a literal comma.</summary>
    private static List<string> SplitQemuOptions(string value)
    {
        var parts = new List<string>();
        var current = new StringBuilder();
        for (int i = 0; i < value.Length; i++)
        {
            if (value[i] == ',')
            {
                if (i + 1 < value.Length && value[i + 1] == ',')
                {
                    current.Append(',');
                    i++;
                    continue;
                }

                parts.Add(current.ToString());
                current.Clear();
                continue;
            }

            current.Append(value[i]);
        }

        parts.Add(current.ToString());
        return parts;
    }
}
