namespace Virtualization.Core.Disks;

/// <summary>What <see cref="CompositeDiskBuilder.Build(CompositeDiskPlan, string, string, int?)"/> wrote.</summary>
/// <param name="DescriptorPath">Absolute path of the composite descriptor; pass it to crosvm as <c>--disk</c>/<c>--rwdisk</c>/<c>--block</c>.</param>
/// <param name="Length">Guest-visible disk size in bytes.</param>
/// <param name="Components">The components in the descriptor, in offset order, with absolute paths.</param>
/// <param name="CreatedFiles">Every file created (header, filler if any, footer, descriptor); delete them with the VM.</param>
/// <param name="DiskGuid">The GPT disk GUID.</param>
/// <param name="PartitionGuids">Each partition's unique GPT GUID, in partition order.</param>
/// <param name="Plan">The validated layout that was written.</param>
internal sealed record CompositeDiskBuildResult(
    string DescriptorPath,
    long Length,
    IReadOnlyList<CompositeDiskComponent> Components,
    IReadOnlyList<string> CreatedFiles,
    Guid DiskGuid,
    IReadOnlyList<Guid> PartitionGuids,
    CompositeDiskPlan Plan);

/// <summary>What <see cref="RawGptImageWriter"/> wrote.</summary>
/// <param name="ImagePath">Absolute path of the raw GPT disk image.</param>
/// <param name="Length">Its size in bytes.</param>
/// <param name="DiskGuid">The GPT disk GUID.</param>
/// <param name="PartitionGuids">Each partition's unique GPT GUID, in partition order.</param>
/// <param name="Plan">The validated layout that was written.</param>
internal sealed record RawGptImageResult(
    string ImagePath,
    long Length,
    Guid DiskGuid,
    IReadOnlyList<Guid> PartitionGuids,
    CompositeDiskPlan Plan);
