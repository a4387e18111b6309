namespace Virtualization.Core;

/// <summary>
/// Every vsock CID between <see cref="VirtualizationServiceOptions.FirstGuestCid"/> and
/// <see cref="VirtualizationServiceOptions.LastGuestCid"/> is held: by live VMs of this or another process (of any user)
/// in the same <see cref="VirtualizationServiceOptions.CidNamespace"/>, or by anyone who bound the CIDs' socket names
/// (see docs/reliability.md). Dispose VMs you no longer need, or widen the range.
/// </summary>
public sealed class CidExhaustedException : InvalidOperationException
{
    /// <summary>Creates the exception for the range <paramref name="first"/>..<paramref name="last"/>.</summary>
    /// <param name="first">The first CID of the range.</param>
    /// <param name="last">The last CID of the range.</param>
    public CidExhaustedException(int first, int last)
        : base($"No free vsock CID: all {(long)last - first + 1} CIDs in {first}..{last} are held by live VMs on this host "
            + "(or by other holders of their socket names). "
            + "Dispose VMs you no longer need, or widen VirtualizationServiceOptions.FirstGuestCid/LastGuestCid.")
    {
        FirstCid = first;
        LastCid = last;
    }

    /// <summary>The first CID of the exhausted range.</summary>
    public int FirstCid { get; }

    /// <summary>The last CID of the exhausted range.</summary>
    public int LastCid { get; }
}
