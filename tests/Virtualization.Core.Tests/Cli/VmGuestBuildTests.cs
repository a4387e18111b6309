using Virtualization.Cli;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Cli;

/// <summary><c>vm guest build &lt;folder&gt;</c>: runs the build-image.sh shipped with the tool.</summary>
public sealed class VmGuestBuildTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Script(string body)
    {
        string path = _dir.File("build-image.sh");
        File.WriteAllText(path, "#!/bin/bash\n" + body + "\n");
        return path;
    }

    [Fact]
    public void TheToolShipsTheScriptAndWhatItNeeds_NextToItself()
    {
        string folder = Path.GetDirectoryName(GuestBuildCommand.DefaultScript)!;

        Directory.GetFiles(folder).Select(Path.GetFileName).Should().BeEquivalentTo("build-image.sh", "init.sh", "vcore-agent.c", "vsock-echo.c");
        File.ReadAllText(GuestBuildCommand.DefaultScript).Should().Be(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "guest", "build-image.sh")));
    }

    [Fact(Timeout = 30000)]
    public async Task Build_RunsTheScriptWithTheFolderAsItsArgument_AndForwardsItsOutput()
    {
        string record = _dir.File("args");
        string script = Script($"""printf '%s\n' "$@" > '{record}'; echo "kernel: $1/vmlinuz"; echo progress >&2""");
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        int code = await new GuestBuildCommand(stdout, stderr, script).RunAsync(Path.Combine(_dir.Path, "out"), CancellationToken.None);

        code.Should().Be(0);
        string folder = Path.Combine(_dir.Path, "out");
        File.ReadAllLines(record).Should().Equal(folder);
        stdout.ToString().Should().StartWith($"kernel: {folder}/vmlinuz\n")
            .And.Contain($"\"kernel\": \"{folder}/vmlinuz\", \"initrd\": \"{folder}/initramfs.cpio.gz\"");
        stderr.ToString().Should().Be("progress\n");
    }

    [Fact(Timeout = 30000)]
    public async Task Build_ScriptFails_Exit1_WithWhatItNeeds()
    {
        string script = Script("echo 'apt-get: permission denied' >&2; exit 3");
        var stderr = new StringWriter();

        int code = await new GuestBuildCommand(new StringWriter(), stderr, script).RunAsync(_dir.File("out"), CancellationToken.None);

        code.Should().Be(1);
        stderr.ToString().Should().StartWith("apt-get: permission denied\n").And.Contain("exited with 3").And.Contain("root");
    }

    [Fact(Timeout = 30000)]
    public async Task Build_FolderIsAFile_Exit2()
    {
        string file = _dir.File("a-file");
        File.WriteAllText(file, "x");

        CliResult result = await CliRunner.RunAsync("guest", "build", file);

        result.ExitCode.Should().Be(2);
        result.Stderr.Should().Be($"vm: '{file}' is a file; give a folder for the guest image.\n");
    }

    /// <summary>
    /// The real script, shipped with the tool, builds a guest into a new folder. The kernel package is taken from the
    /// suite's guest image cache (so the test does not download 70 MB); everything else is the real build.
    /// </summary>
    [SkippableFact(Timeout = 300000)]
    public async Task Build_RealScript_BuildsKernelAndInitramfs_IntoTheFolder()
    {
        Skip.IfNot(Environment.UserName == "root", "the guest build installs packages and creates device nodes: it needs root");
        string[] debs = Directory.Exists(Path.Combine(GuestImage.Directory, "cache"))
            ? Directory.GetFiles(Path.Combine(GuestImage.Directory, "cache"), "*.deb")
            : [];
        Requirement.Require(Requirement.GuestImage, debs.Length > 0, $"no cached kernel package in {GuestImage.Directory}/cache (run guest/build-image.sh)");
        string folder = Path.Combine(_dir.Path, "guest");
        Directory.CreateDirectory(Path.Combine(folder, "cache"));
        foreach (string deb in debs)
        {
            File.Copy(deb, Path.Combine(folder, "cache", Path.GetFileName(deb)));
        }

        CliResult result = await CliRunner.RunAsync("guest", "build", folder);

        result.ExitCode.Should().Be(0, result.Stderr);
        result.StdoutLines.Should().Contain([$"kernel:    {folder}/vmlinuz", $"initramfs: {folder}/initramfs.cpio.gz"]);
        new FileInfo(Path.Combine(folder, "vmlinuz")).Length.Should().BeGreaterThan(1_000_000);
        byte[] initramfs = File.ReadAllBytes(Path.Combine(folder, "initramfs.cpio.gz"));
        initramfs[..2].Should().Equal(0x1f, 0x8b);
        File.ReadAllText(Path.Combine(folder, "kernel-release")).Trim().Should().Be(File.ReadAllText(Path.Combine(GuestImage.Directory, "kernel-release")).Trim());
    }
}
