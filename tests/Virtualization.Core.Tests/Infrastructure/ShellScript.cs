using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Virtualization.Core.Vmm;

namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>Executable <c>/bin/sh</c> scripts that stand in for a VMM or its control tool in tests.</summary>
internal static class ShellScript
{
    /// <summary>Writes <c>#!/bin/sh</c>, <paramref name="body"/> and a newline to <paramref name="path"/>, mode 0700; returns the path.</summary>
    public static string Write(string path, string body)
    {
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    /// <summary>
    /// Writes <paramref name="body"/> as a script named <c>vmm-GUID</c> in <paramref name="folder"/> and launches it as a
    /// VMM through the real <c>vcore-exec</c> (no VM), with <paramref name="console"/> (default: observed, not copied).
    /// </summary>
    public static Task<VmmChildProcess> StartVmmAsync(string folder, string body, GuestConsole? console = null, ILogger? logger = null) =>
        VmmChildProcess.StartAsync(
            Write(Path.Combine(folder, $"vmm-{Guid.NewGuid():N}"), body),
            [],
            console ?? new GuestConsole(null, NullLogger.Instance, NullLogger.Instance, 5),
            logger ?? NullLogger.Instance,
            CancellationToken.None);
}
