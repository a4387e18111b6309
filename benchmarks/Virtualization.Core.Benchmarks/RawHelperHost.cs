using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Virtualization.Core.Benchmarks;

/// <summary>
/// The least a host can do to launch a program under <c>vcore-exec</c> (the library's helper, the same binary the library
/// runs): one abstract-namespace listener, <c>Process.Start(vcore-exec HOST_PID NAME TOKEN - PROGRAM ARGS...)</c> with
/// no redirection, accept the helper's stderr connection, read its 33-byte header, send the go byte. No pidfd, no
/// <c>SO_PEERCRED</c> check, no epoll registration, no stderr pump: a floor for the library's launch, not an
/// equivalent of it.
/// </summary>
internal sealed class RawHelperHost : IDisposable
{
    private const int HeaderLength = 33;
    private readonly Socket _listener;
    private readonly string _name;
    private readonly string _helper;
    private readonly string _hostPid = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
    private readonly byte[] _header = new byte[HeaderLength];

    public RawHelperHost()
    {
        _helper = Vmm.NativeHelper.Path;
        _name = "vcb-floor/" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint("\0" + _name));
        _listener.Listen(16);
    }

    /// <summary>The helper binary (<c>runtimes/&lt;rid&gt;/native/vcore-exec</c> next to this program).</summary>
    public string HelperPath => _helper;

    /// <summary>
    /// Starts <paramref name="program"/> under the helper and lets it run (go byte sent). Returns the helper process and
    /// the host's end of the stderr connection (keep it open while the program runs; dispose it afterwards).
    /// </summary>
    public (Process Helper, Socket Stderr) Start(string program, IEnumerable<string> arguments)
    {
        string token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var startInfo = new ProcessStartInfo(_helper) { UseShellExecute = false };
        startInfo.ArgumentList.Add(_hostPid);
        startInfo.ArgumentList.Add(_name);
        startInfo.ArgumentList.Add(token);
        startInfo.ArgumentList.Add("-");
        startInfo.ArgumentList.Add(program);
        foreach (string argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        Process helper = Process.Start(startInfo) ?? throw new InvalidOperationException("vcore-exec did not start.");
        Socket stderr = _listener.Accept();
        int read = 0;
        while (read < HeaderLength)
        {
            int n = stderr.Receive(_header, read, HeaderLength - read, SocketFlags.None);
            if (n == 0)
            {
                throw new InvalidOperationException($"vcore-exec closed its connection (exit code {WaitExitCode(helper)}).");
            }

            read += n;
        }

        if (_header[0] != (byte)'E' || !_header.AsSpan(1).SequenceEqual(System.Text.Encoding.ASCII.GetBytes(token)))
        {
            throw new InvalidOperationException("Unexpected header from vcore-exec.");
        }

        stderr.Send("G"u8);
        return (helper, stderr);
    }

    public void Dispose() => _listener.Dispose();

    private static int WaitExitCode(Process process)
    {
        process.WaitForExit();
        return process.ExitCode;
    }
}

/// <summary><c>kill(2)</c>, for signals <see cref="Process.Kill()"/> cannot send (SIGTERM) and for processes that are not ours.</summary>
internal static class Signals
{
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;

    /// <summary>Sends <paramref name="signal"/> to <paramref name="pid"/>; throws if the kernel refuses.</summary>
    public static void Send(int pid, int signal)
    {
        if (NativeMethods.Kill(pid, signal) != 0)
        {
            throw new InvalidOperationException($"kill({pid}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}.");
        }
    }

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        internal static extern int Kill(int pid, int signal);
    }
}
