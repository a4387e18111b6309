using System.Diagnostics;
using Microsoft.Win32.SafeHandles;
using Virtualization.Core;
using Virtualization.Core.Vmm;

namespace Virtualization.Cli;

/// <summary>
/// <c>vm info</c>: what this host offers for running VMs (VMMs, KVM, vsock, the VMM launcher), with the fix for each missing piece.
/// </summary>
internal sealed class InfoCommand
{
    private static readonly TimeSpan VersionTimeout = TimeSpan.FromSeconds(5);

    private readonly TextWriter _out;

    /// <summary>Creates the command.</summary>
    /// <param name="stdout">Where the report goes.</param>
    public InfoCommand(TextWriter stdout) => _out = stdout;

    /// <summary>Probes the host and prints one line per item (plus a <c>fix:</c> line for each missing one).</summary>
    /// <returns>Always <see cref="ExitCodes.Success"/>: the report is informational.</returns>
    public async Task<int> RunAsync(InfoOptions options, CancellationToken cancellationToken)
    {
        await ReportExecutableAsync(
            "crosvm", options.CrosvmPath, "version",
            "build crosvm (https://crosvm.dev/book/building_crosvm/) and put it on PATH, or pass --crosvm PATH",
            cancellationToken).ConfigureAwait(false);
        await ReportExecutableAsync(
            "QEMU", options.QemuPath, "--version",
            "apt-get install qemu-system-x86 (or dnf install qemu-system-x86-core), or pass --qemu PATH",
            cancellationToken).ConfigureAwait(false);

        ReportKvm(options.KvmDevice);
        ReportDevice(
            "vhost-vsock", options.VhostVsockDevice,
            "modprobe vhost_vsock (and add it to /etc/modules-load.d to keep it across reboots)");
        ReportDevice("vsock", options.VsockDevice, "modprobe vhost_vsock (it loads the vsock core module)");
        ReportLocalCid(options.VsockDevice);

        string? launcher = options.LauncherPath;
        string? problem = null;
        if (launcher is null)
        {
            try
            {
                launcher = NativeHelper.Path;
            }
            catch (VirtualMachineStartException e)
            {
                problem = e.Message;
            }
        }
        else if (!ExecutableResolver.TryResolve(launcher, out _))
        {
            problem = $"'{launcher}' is missing or not executable";
        }

        if (problem is null)
        {
            Ok("launcher", $"{launcher} (VMs and everything they start die with the process that runs them)");
        }
        else
        {
            Missing(
                "launcher",
                problem,
                "reinstall the Virtualization.Core package: it ships vcore-exec under runtimes/<rid>/native/ (chmod +x it if needed)");
        }

        return ExitCodes.Success;
    }

    private void ReportLocalCid(string vsockDevice)
    {
        if (!File.Exists(vsockDevice))
        {
            return;
        }

        try
        {
            Ok("local CID", VsockEndPoint.GetLocalCid().ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        catch (VsockException e)
        {
            Missing("local CID", e.Message, "modprobe vhost_vsock (or vmw_vsock_virtio_transport inside a VM)");
        }
    }

    private async Task ReportExecutableAsync(string name, string executable, string versionArgument, string fix, CancellationToken cancellationToken)
    {
        if (!ExecutableResolver.TryResolve(executable, out string? path))
        {
            string where = executable.Contains('/', StringComparison.Ordinal) ? $"'{executable}' is not an executable" : $"'{executable}' not found on PATH";
            Missing(name, where, fix);
            return;
        }

        string? version = await GetFirstLineAsync(path, versionArgument, cancellationToken).ConfigureAwait(false);
        Ok(name, version is null ? $"{path} (version unknown: '{versionArgument}' failed)" : $"{path} ({version})");
    }

    private void ReportKvm(string device)
    {
        if (!File.Exists(device))
        {
            Missing(
                "KVM", $"{device} does not exist",
                "enable VT-x/AMD-V in the firmware and modprobe kvm_intel or kvm_amd (in a cloud VM, enable nested virtualization); "
                + "without KVM only QEMU with --accel tcg works");
            return;
        }

        try
        {
            using SafeFileHandle handle = File.OpenHandle(device, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
            Ok("KVM", $"{device} is usable (read-write); if KVM guests hang (nested KVM), run with --accel tcg");
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            Missing("KVM", $"{device} cannot be opened read-write: {e.Message}", "add your user to the kvm group: sudo usermod -aG kvm $USER, then log in again");
        }
    }

    private void ReportDevice(string name, string device, string fix)
    {
        if (File.Exists(device))
        {
            Ok(name, $"{device} is present");
        }
        else
        {
            Missing(name, $"{device} is missing", fix);
        }
    }

    private void Ok(string name, string detail) => _out.WriteLine($"[ok]      {name}: {detail}");

    private void Missing(string name, string detail, string fix)
    {
        _out.WriteLine($"[missing] {name}: {detail}");
        _out.WriteLine($"          fix: {fix}");
    }

    private static async Task<string?> GetFirstLineAsync(string path, string argument, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(path, [argument])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }

        using (process)
        {
            process.StandardInput.Close();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(VersionTimeout);
            try
            {
                Task<string> stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
                Task<string> stderr = process.StandardError.ReadToEndAsync(timeout.Token);
                await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
                string text = await stdout.ConfigureAwait(false);
                _ = await stderr.ConfigureAwait(false);
                string? first = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
                return process.ExitCode == 0 ? first : null;
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                return null;
            }
        }
    }
}
