namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>
/// Tests that change this process's environment (PATH): they run alone (after the parallel tests), so no other test
/// starts a process or resolves an executable while PATH is theirs. They restore it before they end.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessEnvironment
{
    /// <summary>The collection's name, for <c>[Collection(ProcessEnvironment.Name)]</c>.</summary>
    public const string Name = "Process environment";
}
