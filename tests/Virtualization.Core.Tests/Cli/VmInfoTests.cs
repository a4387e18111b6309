using Virtualization.Cli;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Cli;

public sealed class VmInfoTests
{
    // The fake crosvm is a .NET program: on a loaded machine its `version` can take seconds (the probe allows 30 s).
    [Fact(Timeout = 90000)]
    public async Task Info_ListsEveryItem()
    {
        CliResult result = await CliRunner.RunAsync("info", "--crosvm", TestPaths.FakeCrosvm, "--qemu", "/nonexistent/qemu-system-x86_64");

        result.ExitCode.Should().Be(0, result.Stderr);
        string[] lines = result.StdoutLines;
        lines.Should().Contain($"[ok]      crosvm: {TestPaths.FakeCrosvm} (crosvm 0.1.0)");
        lines.Should().Contain(l => l.StartsWith("[missing] QEMU: ", StringComparison.Ordinal));
        lines.Should().Contain(l => l.Contains("fix: apt-get install qemu-system-x86", StringComparison.Ordinal));
        foreach (string item in new[] { "KVM", "vhost-vsock", "vsock", "launcher" })
        {
            lines.Should().ContainSingle(l => l.StartsWith($"[ok]      {item}: ", StringComparison.Ordinal)
                || l.StartsWith($"[missing] {item}: ", StringComparison.Ordinal));
        }
    }

    [SkippableFact(Timeout = 30000)]
    public async Task Info_WithVsockDevice_ReportsTheLocalCid()
    {
        Skip.IfNot(File.Exists("/dev/vsock"), "/dev/vsock is absent on this host");

        CliResult result = await CliRunner.RunAsync("info");

        int expected = (int)TestInterop.LocalCid(); // independent of the library's VsockEndPoint.GetLocalCid
        result.StdoutLines.Should().Contain($"[ok]      local CID: {expected}");
    }

    [Fact(Timeout = 30000)]
    public async Task Info_MissingPieces_EachComeWithAFix()
    {
        using var dir = new TempDir();
        var stdout = new StringWriter();
        var options = new InfoOptions
        {
            CrosvmPath = "no-such-crosvm-" + Guid.NewGuid().ToString("N"),
            QemuPath = dir.File("qemu"),
            KvmDevice = dir.File("kvm"),
            VhostVsockDevice = dir.File("vhost-vsock"),
            VsockDevice = dir.File("vsock"),
            LauncherPath = dir.File("vcore-exec"),
        };

        int code = await new InfoCommand(stdout).RunAsync(options, CancellationToken.None);

        code.Should().Be(0);
        string[] lines = stdout.ToString().ReplaceLineEndings("\n").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Where(l => l.StartsWith("[missing]", StringComparison.Ordinal)).Should().HaveCount(6);
        lines.Where(l => l.TrimStart().StartsWith("fix: ", StringComparison.Ordinal)).Should().HaveCount(6);
        stdout.ToString().Should().Contain("modprobe vhost_vsock").And.Contain("apt-get install qemu-system-x86")
            .And.Contain("modprobe kvm_intel or kvm_amd").And.Contain("runtimes/<rid>/native/").And.Contain("not found on PATH");
    }

    [Fact(Timeout = 30000)]
    public async Task Info_PresentDevices_AreReportedOk()
    {
        using var dir = new TempDir();
        string device = dir.CreateImage("dev", 1, 1);
        var stdout = new StringWriter();
        var options = new InfoOptions { KvmDevice = device, VhostVsockDevice = device, VsockDevice = device, LauncherPath = TestPaths.FakeCrosvm };

        await new InfoCommand(stdout).RunAsync(options, CancellationToken.None);

        string text = stdout.ToString();
        text.Should().Contain($"[ok]      KVM: {device} is usable (read-write)");
        text.Should().Contain($"[ok]      vhost-vsock: {device} is present");
        text.Should().Contain($"[ok]      vsock: {device} is present");
        text.Should().Contain($"[ok]      launcher: {TestPaths.FakeCrosvm} (VMs and everything they start die with the process that runs them)");
    }
}
