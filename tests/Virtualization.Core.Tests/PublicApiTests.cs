using PublicApiGenerator;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests;

public sealed class PublicApiTests
{
    /// <summary>
    /// The public API is a contract: any change must show up in review as a change of PublicApi.approved.txt.
    /// To accept a change, run the tests with VCORE_ACCEPT_API=1 and commit the file.
    /// </summary>
    [Theory]
    [InlineData("Virtualization.Core", "PublicApi.approved.txt")]
    [InlineData("Virtualization.Core.Hosting", "PublicApi.Hosting.approved.txt")]
    public void PublicApi_MatchesApprovedSnapshot(string assembly, string snapshot)
    {
        System.Reflection.Assembly library = assembly == "Virtualization.Core"
            ? typeof(IVirtualizationService).Assembly
            : typeof(VirtualizationHealthCheck).Assembly;
        string actual = library.GeneratePublicApi(new ApiGeneratorOptions
        {
            ExcludeAttributes = ["System.Runtime.Versioning.TargetFrameworkAttribute", "System.Reflection.AssemblyMetadataAttribute"],
            AllowNamespacePrefixes = ["Microsoft.Extensions.DependencyInjection"], // AddVirtualization lives there, by convention
        });
        string approvedPath = Path.Combine(TestPaths.RepoRoot, "tests", "Virtualization.Core.Tests", snapshot);
        if (Environment.GetEnvironmentVariable("VCORE_ACCEPT_API") == "1")
        {
            File.WriteAllText(approvedPath, actual);
        }

        File.Exists(approvedPath).Should().BeTrue("the approved API snapshot is committed");
        actual.ReplaceLineEndings().Should().Be(File.ReadAllText(approvedPath).ReplaceLineEndings());
    }
}
