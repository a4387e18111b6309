using System.Runtime.InteropServices;

namespace Virtualization.Core.Vmm;

/// <summary>
/// Finds <c>vcore-exec</c>, the static helper that launches every VMM (src/Virtualization.Core/Native/vcore-exec.c),
/// next to this assembly: <c>vcore-exec</c> itself (RID-specific output) or <c>runtimes/&lt;rid&gt;/native/vcore-exec</c>
/// (portable output, NuGet layout). NuGet does not keep execute permissions: a copy without them is made executable
/// in place.
/// </summary>
internal static class NativeHelper
{
    internal const string FileName = "vcore-exec";
    private static readonly InitOnce<string> s_path = new(Locate);

    /// <summary>The helper's runtime identifier folder for this process.</summary>
    internal static string RuntimeIdentifier => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => "linux-x64",
        Architecture.Arm64 => "linux-arm64",
        var other => "linux-" + other.ToString().ToLowerInvariant(),
    };

    /// <summary>The executable helper's full path.</summary>
    /// <exception cref="VirtualMachineStartException">It is missing or cannot be made executable.</exception>
    internal static string Path => s_path.Value;

    private static string Locate()
    {
#pragma warning disable IL3000 // Empty in a single-file app, where AppContext.BaseDirectory covers it.
        string? assemblyDirectory = System.IO.Path.GetDirectoryName(typeof(NativeHelper).Assembly.Location);
#pragma warning restore IL3000
        return Locate(AppContext.BaseDirectory, assemblyDirectory);
    }

    /// <summary>
    /// The first existing helper of <paramref name="baseDirectory"/>/vcore-exec, its runtimes/&lt;rid&gt;/native/vcore-exec,
    /// then the same two under <paramref name="assemblyDirectory"/> (when known), made executable.
    /// </summary>
    /// <exception cref="VirtualMachineStartException">None exists, or the one found cannot be made executable.</exception>
    internal static string Locate(string baseDirectory, string? assemblyDirectory)
    {
        string[] candidates =
        [
            System.IO.Path.Combine(baseDirectory, FileName),
            System.IO.Path.Combine(baseDirectory, "runtimes", RuntimeIdentifier, "native", FileName),
            .. string.IsNullOrEmpty(assemblyDirectory) ? Array.Empty<string>() :
            [
                System.IO.Path.Combine(assemblyDirectory, FileName),
                System.IO.Path.Combine(assemblyDirectory, "runtimes", RuntimeIdentifier, "native", FileName),
            ],
        ];
        foreach (string candidate in candidates)
        {
            if (File.Exists(candidate))
            {
                return MakeExecutable(candidate);
            }
        }

        throw new VirtualMachineStartException(
            $"The VMM launcher '{FileName}' for {RuntimeIdentifier} was not found (looked in: {string.Join(", ", candidates)}). "
            + "It ships in the Virtualization.Core package under runtimes/<rid>/native/; Virtualization.Core supports linux-x64 and linux-arm64.",
            null,
            string.Empty);
    }

    /// <summary>Returns <paramref name="path"/> once this process can execute it, adding the execute bits (u+x, g+x, o+x) if needed.</summary>
    /// <exception cref="VirtualMachineStartException">It is not executable and its mode cannot be changed.</exception>
    internal static string MakeExecutable(string path)
    {
        const UnixFileMode Execute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        UnixFileMode mode = File.GetUnixFileMode(path);
        if ((mode & UnixFileMode.UserExecute) != 0 && Interop.Sys.Access(path, Interop.Sys.X_OK) == 0)
        {
            return path;
        }

        try
        {
            File.SetUnixFileMode(path, mode | Execute);
            return path;
        }
        catch (UnauthorizedAccessException)
        {
        }
        catch (IOException)
        {
        }

        throw new VirtualMachineStartException(
            $"The VMM launcher '{path}' is not executable and this user cannot change that (NuGet does not keep execute "
            + $"permissions). Run: chmod +x '{path}'",
            null,
            string.Empty);
    }
}
