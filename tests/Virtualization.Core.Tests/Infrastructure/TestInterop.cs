using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>
/// Native functions and constants that only tests use. The library's own bindings are in
/// <see cref="Interop"/> (<c>Interop.Sys</c>, <c>Interop.Sockets</c>, <c>Interop.Epoll</c>); read errno after these
/// calls with <see cref="Interop.LastErrno"/> (the library does not listen, accept or connect natively: .NET's
/// <see cref="Socket"/> engine does that for it).
/// </summary>
internal static partial class TestInterop
{
    /// <summary>IPv4 (<c>AF_INET</c>): loopback TCP for a connect that stays pending.</summary>
    internal const int AF_INET = 2;

    /// <summary><c>SOCK_NONBLOCK</c> (= <c>O_NONBLOCK</c>), or-ed into the type of <c>socket</c>/<c>accept4</c>.</summary>
    internal const int SOCK_NONBLOCK = 0x800;

    /// <summary><c>listen(2)</c>. The kernel caps <paramref name="backlog"/> at <c>net.core.somaxconn</c>.</summary>
    [LibraryImport(Interop.Libc, EntryPoint = "listen", SetLastError = true)]
    internal static partial int Listen(SafeSocketHandle socket, int backlog);

    /// <summary>
    /// <c>accept4(2)</c>: the peer's <c>sockaddr</c> is written to <paramref name="address"/> and its length to
    /// <paramref name="addressLength"/> (in: the buffer size). Returns an invalid handle on failure. Pass
    /// <c>SOCK_CLOEXEC</c> in <paramref name="flags"/>.
    /// </summary>
    [LibraryImport(Interop.Libc, EntryPoint = "accept4", SetLastError = true)]
    internal static partial SafeSocketHandle Accept4(SafeSocketHandle socket, Span<byte> address, ref int addressLength, int flags);

    /// <summary>
    /// <c>connect(2)</c> with a serialized <c>sockaddr</c>. Never call this on an <c>AF_VSOCK</c> socket from a
    /// test: the connection leaves the machine for its hypervisor.
    /// </summary>
    [LibraryImport(Interop.Libc, EntryPoint = "connect", SetLastError = true)]
    internal static partial int Connect(SafeSocketHandle socket, ReadOnlySpan<byte> address, int addressLength);

    /// <summary><c>dup(2)</c>: a second descriptor for the same open file (a new handle owns it).</summary>
    [LibraryImport(Interop.Libc, EntryPoint = "dup", SetLastError = true)]
    internal static partial Microsoft.Win32.SafeHandles.SafeFileHandle Dup(int fd);

    /// <summary><c>chown(2)</c>; -1 leaves that id as it is. Follows a symbolic link at <paramref name="path"/>.</summary>
    [LibraryImport(Interop.Libc, EntryPoint = "chown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Chown(string path, int owner, int group);

    /// <summary><c>RLIMIT_NOFILE</c>: one more than the highest descriptor number a new descriptor may get.</summary>
    internal const int RLIMIT_NOFILE = 7;

    /// <summary><c>getrlimit(2)</c>.</summary>
    [LibraryImport(Interop.Libc, EntryPoint = "getrlimit", SetLastError = true)]
    internal static partial int GetRLimit(int resource, out RLimit limit);

    /// <summary><c>setrlimit(2)</c>.</summary>
    [LibraryImport(Interop.Libc, EntryPoint = "setrlimit", SetLastError = true)]
    internal static partial int SetRLimit(int resource, in RLimit limit);

    /// <summary><c>struct rlimit</c> (64-bit).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct RLimit
    {
        internal ulong Current;
        internal ulong Maximum;
    }

    /// <summary><c>SEEK_DATA</c>: the next offset at or after the given one that holds data (ENXIO past the last).</summary>
    internal const int SEEK_DATA = 3;

    /// <summary><c>SEEK_HOLE</c>: the next hole at or after the given offset (the end of the file counts as one).</summary>
    internal const int SEEK_HOLE = 4;

    /// <summary><c>lseek(2)</c>.</summary>
    [LibraryImport(Interop.Libc, EntryPoint = "lseek", SetLastError = true)]
    internal static partial long LSeek(Microsoft.Win32.SafeHandles.SafeFileHandle file, long offset, int whence);

    /// <summary>The data extents of <paramref name="path"/> (what the file system allocated), found with SEEK_DATA/SEEK_HOLE.</summary>
    internal static List<(long Start, long End)> DataExtents(string path)
    {
        using Microsoft.Win32.SafeHandles.SafeFileHandle file = File.OpenHandle(path);
        var extents = new List<(long, long)>();
        long offset = 0;
        while (true)
        {
            long data = LSeek(file, offset, SEEK_DATA);
            if (data < 0)
            {
                return extents; // ENXIO: no data at or after offset.
            }

            long hole = LSeek(file, data, SEEK_HOLE);
            extents.Add((data, hole));
            offset = hole;
        }
    }

    /// <summary><c>posix_spawn(3)</c>; returns 0 or an error number (it does not set errno).</summary>
    [LibraryImport(Interop.Libc, EntryPoint = "posix_spawn")]
    private static unsafe partial int PosixSpawn(out int pid, byte* path, nint fileActions, nint attributes, byte** argv, byte** envp);

    /// <summary>
    /// Starts <paramref name="argv"/> (argv[0] an absolute path, an empty environment) as a child of this process that the
    /// runtime does not track: unlike a <see cref="System.Diagnostics.Process"/>, nothing reaps it but the test, so it
    /// stays a zombie after its exit. The test must reap it (<see cref="Reap"/>).
    /// </summary>
    internal static unsafe int SpawnUntracked(params string[] argv)
    {
        nint[] strings = [.. argv.Select(Marshal.StringToCoTaskMemUTF8)];
        try
        {
            byte** args = stackalloc byte*[argv.Length + 1];
            for (int i = 0; i < argv.Length; i++)
            {
                args[i] = (byte*)strings[i];
            }

            args[argv.Length] = null;
            byte** environment = stackalloc byte*[1];
            environment[0] = null;
            int error = PosixSpawn(out int pid, args[0], 0, 0, args, environment);
            return error == 0 ? pid : throw new IOException($"posix_spawn({argv[0]}) failed: error {error}");
        }
        finally
        {
            foreach (nint s in strings)
            {
                Marshal.FreeCoTaskMem(s);
            }
        }
    }

    /// <summary>Kills (SIGKILL through the pidfd; nothing if it already exited) and reaps a child from <see cref="SpawnUntracked"/>.</summary>
    internal static void Reap(Core.Vmm.PidfdHandle pidfd)
    {
        pidfd.TrySignal(Interop.Sys.Signal.SIGKILL);
        Interop.Sys.WaitId(Interop.Sys.P_PIDFD, pidfd, out _, Interop.Sys.WEXITED).Should().Be(0, "waitid reaps the child");
    }

    /// <summary><c>ioctl(2)</c> with an out <c>unsigned int</c>.</summary>
    [LibraryImport(Interop.Libc, EntryPoint = "ioctl", SetLastError = true)]
    internal static partial int Ioctl(Microsoft.Win32.SafeHandles.SafeFileHandle fd, nuint request, out uint value);

    /// <summary>
    /// This host's vsock CID, read without the library: <c>IOCTL_VM_SOCKETS_GET_LOCAL_CID</c> on /dev/vsock, whose
    /// number <c>_IO(7, 0xb9)</c> = 0x7b9 is written out from linux/vm_sockets.h.
    /// </summary>
    internal static uint LocalCid()
    {
        using Microsoft.Win32.SafeHandles.SafeFileHandle vsock = File.OpenHandle("/dev/vsock");
        return Ioctl(vsock, 0x7b9, out uint cid) == 0 ? cid : throw new IOException($"ioctl(IOCTL_VM_SOCKETS_GET_LOCAL_CID) failed: errno {Marshal.GetLastPInvokeError()}");
    }
}
