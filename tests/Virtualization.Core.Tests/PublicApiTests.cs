using PublicApiGenerator;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests;

public sealed class PublicApiTests
{
    /// <summary>
    /// The public API is a contract: any change must show up in review as a change of PublicApi.approved.txt.
    /// To accept a change, run the tests with VCORE_ACCEPT_API=1 and commit the file.
    /// </summary>
    [Fact]
    public void PublicApi_MatchesApprovedSnapshot()
    {
        string actual = typeof(IVirtualizationService).Assembly.GeneratePublicApi(new ApiGeneratorOptions
        {
            ExcludeAttributes = ["System.Runtime.Versioning.TargetFrameworkAttribute", "System.Reflection.AssemblyMetadataAttribute"],
        });
        string approvedPath = Path.Combine(TestPaths.RepoRoot, "tests", "Virtualization.Core.Tests", "PublicApi.approved.txt");
        if (Environment.GetEnvironmentVariable("VCORE_ACCEPT_API") == "1")
        {
            File.WriteAllText(approvedPath, actual);
        }

        File.Exists(approvedPath).Should().BeTrue("the approved API snapshot is committed");
        actual.ReplaceLineEndings().Should().Be(File.ReadAllText(approvedPath).ReplaceLineEndings());
    }
}
