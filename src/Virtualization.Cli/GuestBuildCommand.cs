using System.Diagnostics;

namespace Virtualization.Cli;

/// <summary>
/// <c>vm guest build &lt;folder&gt;</c>: builds the test guest (a distribution kernel and a busybox initramfs) into a
/// folder by running <c>guest/build-image.sh</c>, which ships inside the tool with the files it needs. Debian or
/// Ubuntu, as root (it installs what it needs with apt-get).
/// </summary>
internal sealed class GuestBuildCommand
{
    private readonly TextWriter _out;
    private readonly TextWriter _err;
    private readonly string _script;

    /// <summary>Creates the command.</summary>
    /// <param name="stdout">The script's stdout (the paths it built). Must be thread-safe.</param>
    /// <param name="stderr">The script's progress and errors. Must be thread-safe.</param>
    /// <param name="script">The build script; by default the copy next to the tool.</param>
    public GuestBuildCommand(TextWriter stdout, TextWriter stderr, string? script = null)
    {
        _out = stdout;
        _err = stderr;
        _script = script ?? DefaultScript;
    }

    /// <summary>The build script shipped with the tool: <c>guest/build-image.sh</c> next to <c>vm.dll</c>.</summary>
    public static string DefaultScript => Path.Combine(AppContext.BaseDirectory, "guest", "build-image.sh");

    /// <summary>Builds the guest into <paramref name="folder"/> (created if needed).</summary>
    /// <returns><see cref="ExitCodes.Success"/>, or <see cref="ExitCodes.Failure"/> when the script failed.</returns>
    /// <exception cref="UsageException">The folder is an existing file, or the script is missing.</exception>
    public async Task<int> RunAsync(string folder, CancellationToken cancellationToken)
    {
        if (File.Exists(folder))
        {
            throw new UsageException($"'{folder}' is a file; give a folder for the guest image.");
        }

        if (!File.Exists(_script))
        {
            throw new UsageException($"The guest build script is missing: {_script} (reinstall the vm tool).");
        }

        string target = Path.GetFullPath(folder);
        var start = new ProcessStartInfo("bash")
        {
            ArgumentList = { _script, target },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using Process process = Process.Start(start) ?? throw new InvalidOperationException("bash did not start.");
        Task copyOut = CopyAsync(process.StandardOutput, _out);
        Task copyErr = CopyAsync(process.StandardError, _err);
        try
        {
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            throw;
        }
        finally
        {
            await Task.WhenAll(copyOut, copyErr).ConfigureAwait(false);
        }

        if (process.ExitCode != 0)
        {
            await _err.WriteLineAsync(
                $"vm: building the guest failed (build-image.sh exited with {process.ExitCode}). It needs Debian or Ubuntu on x86_64, "
                + "root (it installs busybox-static, cpio, kmod, gcc, QEMU... with apt-get), and apt sources that serve the kernel package.")
                .ConfigureAwait(false);
            return ExitCodes.Failure;
        }

        await _out.WriteLineAsync(
            $"Use it in a VM config: \"kernel\": \"{Path.Combine(target, "vmlinuz")}\", \"initrd\": \"{Path.Combine(target, "initramfs.cpio.gz")}\"")
            .ConfigureAwait(false);
        return ExitCodes.Success;
    }

    private static async Task CopyAsync(StreamReader from, TextWriter to)
    {
        while (await from.ReadLineAsync(CancellationToken.None).ConfigureAwait(false) is { } line)
        {
            await to.WriteLineAsync(line).ConfigureAwait(false);
        }
    }
}
