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
}
