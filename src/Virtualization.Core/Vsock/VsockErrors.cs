using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Errno = Virtualization.Core.Interop.Errno;

namespace Virtualization.Core.Vsock;

/// <summary>
/// Turns an errno from a vsock (or test unix) socket operation into a <see cref="VsockException"/> whose message
/// names the cause and the fix. The errno text itself comes from <see cref="Interop.CreateExceptionForErrno"/>, which
/// becomes the inner exception (or the <see cref="SocketException"/> .NET raised, when it made the call).
/// </summary>
internal static class VsockErrors
{
    private const string LoadTransport =
        "Load the host transport with 'sudo modprobe vhost_vsock' (it creates /dev/vhost-vsock), or run inside a VM that has a virtio-vsock device.";

    /// <summary>The operation ran as a P/Invoke and left <paramref name="errno"/>.</summary>
    public static VsockException Create(Errno errno, string operation, NativeAddress target, TimeSpan? timeout = null) =>
        Create(errno, operation, target, timeout, Interop.CreateExceptionForErrno(errno, operation, target.Description));

    /// <summary>.NET's socket engine made the call and raised <paramref name="exception"/>.</summary>
    public static VsockException FromSocketException(SocketException exception, string operation, NativeAddress target, TimeSpan? timeout = null) =>
        Create(ErrnoOf(exception, target), operation, target, timeout, exception);

    private static Errno ErrnoOf(SocketException exception, NativeAddress target) =>
        // .NET folds a unix connect's ENOENT (no socket file) into AddressNotAvailable.
        target.Family == Interop.Sockets.AF_UNIX && exception.SocketErrorCode == SocketError.AddressNotAvailable
            ? Errno.ENOENT
            // Otherwise NativeErrorCode is the errno (SocketError mapped back through the platform table).
            : (Errno)exception.NativeErrorCode;

    /// <summary>Opening or querying <c>/dev/vsock</c> failed.</summary>
    public static VsockException ForDevice(Errno errno, string operation, string device)
    {
        Exception inner = Interop.CreateExceptionForErrno(errno, operation, device);
        string message = errno switch
        {
            Errno.ENOENT or Errno.ENODEV =>
                $"No vsock support on this host: {device} does not exist ({Strerror(errno)}). {LoadTransport}",
            Errno.EACCES or Errno.EPERM =>
                $"No permission to open {device} ({Strerror(errno)}). Run as a user that may read it, or adjust its mode.",
            _ => $"{operation} on {device} failed: {Strerror(errno)} (errno {(int)errno}).",
        };
        return new VsockException((int)errno, message, null, inner);
    }

    private static VsockException Create(Errno errno, string operation, NativeAddress target, TimeSpan? timeout, Exception inner)
    {
        string where = target.Description;
        string message = errno switch
        {
            Errno.EAFNOSUPPORT or Errno.EPROTONOSUPPORT or Errno.ESOCKTNOSUPPORT when target.IsVsockFamily =>
                $"No vsock transport on this host: the kernel refused an AF_VSOCK socket ({Strerror(errno)}). {LoadTransport}",
            Errno.ENODEV when operation == "connect" =>
                $"No vsock transport reaches {where} ({Strerror(errno)}): either no running VM has that CID (check the CID and that the VM is up), or this host has no vsock transport. {LoadTransport}",
            Errno.ENODEV =>
                $"No vsock transport on this host ({operation} {where}: {Strerror(errno)}). {LoadTransport}",
            Errno.ECONNREFUSED or Errno.ECONNRESET =>
                $"Nothing listening on {where} ({Strerror(errno)}). Start the service in the guest, or retry once the guest has booted and its service listens on that port.",
            Errno.ENOENT when operation == "connect" =>
                $"Nothing listening on {where}: the socket file does not exist ({Strerror(errno)}). Start the listener first.",
            Errno.ETIMEDOUT =>
                $"Connecting to {where} timed out after {Format(timeout)} ({Strerror(errno)}). The guest did not answer: check that the VM is running, the CID is right and its service listens, or raise the timeout.",
            Errno.EHOSTUNREACH or Errno.ENETUNREACH =>
                $"{where} is unreachable ({Strerror(errno)}): no VM with that CID is running. Check the CID and that the VM is up.",
            Errno.EADDRINUSE =>
                $"Cannot listen on {where}: the port is already in use ({Strerror(errno)}). Pick another port or bind VsockEndPoint.AnyPort.",
            Errno.EADDRNOTAVAIL when target.IsVsockFamily =>
                $"Cannot bind {where}: that CID is not local to this machine ({Strerror(errno)}). Bind VsockEndPoint.Any or the CID VsockEndPoint.GetLocalCid() returns.",
            Errno.EACCES or Errno.EPERM when operation == "bind" =>
                $"Cannot bind {where}: ports below 1024 need CAP_NET_BIND_SERVICE ({Strerror(errno)}). Use a port of 1024 or more.",
            _ => $"{Capitalize(operation)} on {where} failed: {Strerror(errno)} (errno {(int)errno}).",
        };
        return new VsockException((int)errno, message, target.Vsock, inner);
    }

    /// <summary>Formats a timeout the way messages print it: <c>250 ms</c>, <c>5 s</c>, <c>1.5 s</c>.</summary>
    internal static string Format(TimeSpan? timeout) => timeout switch
    {
        null => "the kernel's connect timeout",
        { } t when t == Timeout.InfiniteTimeSpan => "an infinite timeout",
        { TotalSeconds: < 1 } t => t.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture) + " ms",
        { } t => t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s",
    };

    private static string Strerror(Errno errno) => Marshal.GetPInvokeErrorMessage((int)errno);

    private static string Capitalize(string operation) =>
        operation.Length == 0 ? operation : char.ToUpperInvariant(operation[0]) + operation[1..];
}
