namespace Virtualization.Core;

/// <summary>
/// A vsock operation failed. The message names the cause and the fix (for example "nothing listening on port
/// 5000 in VM CID 3"); <see cref="Errno"/> carries the Linux errno and <see cref="EndPoint"/> the address involved.
/// </summary>
/// <remarks>
/// Thrown by <see cref="VsockListener"/>, <see cref="VsockEndPoint.GetLocalCid"/> and the library's connector.
/// Once a connection is established, reads and writes on its stream throw what <see cref="System.Net.Sockets.NetworkStream"/>
/// throws (<see cref="IOException"/> wrapping a <see cref="System.Net.Sockets.SocketException"/>).
/// The object that threw is not usable afterwards unless the operation was <see cref="VsockListener.AcceptAsync"/>
/// failing for one connection, which leaves the listener open.
/// </remarks>
public sealed class VsockException : IOException
{
    /// <summary>Creates an exception with a default message.</summary>
    public VsockException()
        : this("A vsock operation failed.")
    {
    }

    /// <summary>Creates an exception with <paramref name="message"/>.</summary>
    /// <param name="message">What failed, why, and what to do about it.</param>
    public VsockException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with <paramref name="message"/> caused by <paramref name="innerException"/>.</summary>
    /// <param name="message">What failed, why, and what to do about it.</param>
    /// <param name="innerException">The underlying error.</param>
    public VsockException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception for a Linux <paramref name="errno"/>.</summary>
    /// <param name="errno">The Linux errno (for example 111, <c>ECONNREFUSED</c>).</param>
    /// <param name="message">What failed, why, and what to do about it.</param>
    /// <param name="endPoint">The vsock address involved, if any.</param>
    /// <param name="innerException">The underlying error.</param>
    public VsockException(int errno, string message, VsockEndPoint? endPoint = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Errno = errno;
        EndPoint = endPoint;
    }

    /// <summary>The Linux errno of the failure (for example 111, <c>ECONNREFUSED</c>), or 0 when there is none.</summary>
    public int Errno { get; }

    /// <summary>The vsock address the failed operation was applied to, when there is one.</summary>
    public VsockEndPoint? EndPoint { get; }
}
