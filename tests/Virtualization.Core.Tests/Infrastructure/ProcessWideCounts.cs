namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>
/// Tests that count this process's file descriptors or threads before and after their work: they run alone (after
/// the parallel tests), so other tests' pipes, sockets and threads do not come and go in their counts.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideCounts
{
    /// <summary>The collection's name, for <c>[Collection(ProcessWideCounts.Name)]</c>.</summary>
    public const string Name = "Process-wide descriptor and thread counts";
}
