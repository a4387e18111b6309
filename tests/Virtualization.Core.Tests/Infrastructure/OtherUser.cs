using System.Diagnostics;
using System.Globalization;

namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>
/// Acts as the unprivileged user <c>nobody</c> (through <c>runuser</c>), for tests where another local user attacks a
/// service run by root. Only root can switch users: such tests skip otherwise (CI runs the suite as root).
/// </summary>
internal static class OtherUser
{
    public const string Name = "nobody";

    private static readonly Lazy<string?> s_runuser = new(() =>
        new[] { "/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser" }.FirstOrDefault(File.Exists));

    /// <summary>Why this process cannot act as <see cref="Name"/>, or <see langword="null"/> when it can.</summary>
    public static string? Unavailable =>
        !Environment.IsPrivilegedProcess ? "only root can act as another user (runuser)"
        : s_runuser.Value is null ? "runuser (util-linux) is not installed"
        : null;

    /// <summary>The uid of <see cref="Name"/>.</summary>
    public static async Task<uint> UidAsync() =>
        uint.Parse((await ShellAsync("id -u")).Trim(), CultureInfo.InvariantCulture);

    /// <summary>A fresh folder that every user may create entries in, sticky like <c>/tmp</c>; delete it when done.</summary>
    public static string SharedFolder()
    {
        string path = Directory.CreateTempSubdirectory("vct-shared-").FullName;
        File.SetUnixFileMode(path, (UnixFileMode)Convert.ToInt32("1777", 8));
        return path;
    }

    /// <summary>Runs <paramref name="script"/> with <c>sh -c</c> as <see cref="Name"/>; throws unless it exits 0.</summary>
    /// <returns>What it printed on standard output.</returns>
    public static async Task<string> ShellAsync(string script)
    {
        using Process process = Start("/bin/sh", "-c", script);
        process.StandardInput.Close();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        string stdout = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"'{script}' as {Name} exited with {process.ExitCode}: {await stderr}");
        }

        return stdout;
    }

    /// <summary>Starts <paramref name="executable"/> as <see cref="Name"/> with redirected standard streams.</summary>
    public static Process Start(string executable, params string[] arguments) => Start(executable, arguments, null);

    /// <summary>
    /// Starts <paramref name="executable"/> as <see cref="Name"/> with redirected standard streams and
    /// <paramref name="environment"/> applied (runuser passes the environment on).
    /// </summary>
    public static Process Start(string executable, string[] arguments, IReadOnlyDictionary<string, string?>? environment)
    {
        var psi = new ProcessStartInfo(s_runuser.Value ?? "runuser")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = "/",
        };
        foreach (string argument in (string[])["-u", Name, "--", executable, .. arguments])
        {
            psi.ArgumentList.Add(argument);
        }

        Apply(psi, environment);
        return Process.Start(psi)!;
    }

    /// <summary>Sets (or, for a null value, removes) environment variables of a process to start.</summary>
    public static void Apply(ProcessStartInfo psi, IReadOnlyDictionary<string, string?>? environment)
    {
        foreach ((string name, string? value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                psi.Environment.Remove(name);
            }
            else
            {
                psi.Environment[name] = value;
            }
        }
    }
}
