using System.IO.Compression;
using System.Reflection;
using System.Runtime.Versioning;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Packaging;

/// <summary>
/// Packs both packages from this build (<c>dotnet pack --no-build</c>) and checks that they carry what the README
/// promises: icon, README with absolute links, license, repository metadata, release notes from CHANGELOG.md, XML docs
/// for the public API only, and vcore-exec for both RIDs (library); the guest build script (tool).
/// </summary>
public sealed class PackageContentsTests : IClassFixture<PackageContentsTests.Packages>
{
    private readonly Packages _packages;

    public PackageContentsTests(Packages packages) => _packages = packages;

    [SkippableFact(Timeout = 300000)]
    public async Task Library_HasIconReadmeDocsAndBothLaunchers()
    {
        string nupkg = await _packages.LibraryAsync();
        using ZipArchive zip = ZipFile.OpenRead(nupkg);

        zip.Entries.Select(e => e.FullName).Should().Contain([
            "icon.png", "README.md", "lib/net10.0/Virtualization.Core.dll", "lib/net10.0/Virtualization.Core.xml",
            "runtimes/linux-x64/native/vcore-exec", "runtimes/linux-arm64/native/vcore-exec"]);
        Read(zip, "icon.png")[..8].Should().Equal(0x89, (byte)'P', (byte)'N', (byte)'G', 0x0d, 0x0a, 0x1a, 0x0a);
        CheckMetadata(zip, "Virtualization.Core.nuspec");
        CheckReadme(zip, Path.Combine(TestPaths.RepoRoot, "README.md"));
    }

    [SkippableFact(Timeout = 300000)]
    public async Task Library_XmlDocs_DocumentThePublicApiOnly()
    {
        string nupkg = await _packages.LibraryAsync();
        using ZipArchive zip = ZipFile.OpenRead(nupkg);
        XDocument docs = Xml(zip, "lib/net10.0/Virtualization.Core.xml");
        string[] ids = [.. docs.Descendants("member").Select(m => (string)m.Attribute("name")!)];

        // Independently of the packing filter: every documented member belongs to an exported type and has a public
        // or protected member of that name.
        Assembly assembly = typeof(VirtualizationService).Assembly;
        var types = assembly.GetExportedTypes().ToDictionary(t => t.FullName!.Replace('+', '.'));
        foreach (string id in ids)
        {
            string body = Regex.Replace(id[2..], @"\(.*$", string.Empty);
            if (id.StartsWith("T:", StringComparison.Ordinal))
            {
                types.Should().ContainKey(body, $"{id} is documented, so its type should be public");
                continue;
            }

            int dot = body.LastIndexOf('.');
            types.Should().ContainKey(body[..dot], $"{id} is documented, so its type should be public");
            string name = Regex.Replace(body[(dot + 1)..], "``[0-9]+$", string.Empty).Replace('#', '.');
            types[body[..dot]].GetMember(name, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly)
                .Should().Contain(m => IsPublicOrProtected(m), $"{id} is documented, so it should be public or protected");
        }

        ids.Should().Contain(["T:Virtualization.Core.VirtualizationService", "M:Virtualization.Core.IVirtualMachine.StartAsync(System.Threading.CancellationToken)"]);
        ids.Should().NotContain(id => id.Contains("Virtualization.Core.Crosvm.", StringComparison.Ordinal) || id.Contains("Virtualization.Core.Lifecycle.", StringComparison.Ordinal));
    }

    [Fact]
    public void Library_IsMarkedLinuxOnly()
    {
        typeof(VirtualizationService).Assembly.GetCustomAttributes<SupportedOSPlatformAttribute>()
            .Select(a => a.PlatformName).Should().Equal("linux");
    }

    [SkippableFact(Timeout = 300000)]
    public async Task Tool_HasIconReadmeAndTheGuestBuildScript_AndNoXmlDocs()
    {
        string nupkg = await _packages.ToolAsync();
        using ZipArchive zip = ZipFile.OpenRead(nupkg);
        string[] entries = [.. zip.Entries.Select(e => e.FullName)];

        entries.Should().Contain([
            "icon.png", "README.md", "tools/net10.0/any/vm.dll",
            "tools/net10.0/any/guest/build-image.sh", "tools/net10.0/any/guest/init.sh",
            "tools/net10.0/any/guest/vcore-agent.c", "tools/net10.0/any/guest/vsock-echo.c"]);
        entries.Where(e => e.StartsWith("tools/", StringComparison.Ordinal) && e.EndsWith(".xml", StringComparison.Ordinal)).Should().Equal("tools/net10.0/any/DotnetToolSettings.xml");
        System.Text.Encoding.UTF8.GetString(Read(zip, "tools/net10.0/any/guest/build-image.sh"))
            .Should().Be(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "guest", "build-image.sh")));
        CheckMetadata(zip, "Virtualization.Cli.nuspec");
        CheckReadme(zip, Path.Combine(TestPaths.RepoRoot, "docs", "vm-tool.md"));
    }

    private static bool IsPublicOrProtected(MemberInfo member) => member switch
    {
        MethodBase m => m.IsPublic || m.IsFamily || m.IsFamilyOrAssembly,
        PropertyInfo p => p.GetAccessors(nonPublic: true).Any(a => a.IsPublic || a.IsFamily || a.IsFamilyOrAssembly),
        FieldInfo f => f.IsPublic || f.IsFamily || f.IsFamilyOrAssembly,
        EventInfo e => e.AddMethod is { } add && (add.IsPublic || add.IsFamily),
        Type t => t.IsVisible,
        _ => false,
    };

    private static void CheckMetadata(ZipArchive zip, string nuspecName)
    {
        // The schema version in the namespace differs between package types (a tool's nuspec uses a newer one).
        XElement root = Xml(zip, nuspecName).Root!;
        XNamespace Nuspec = root.Name.Namespace;
        XElement metadata = root.Element(Nuspec + "metadata")!;
        string? Field(string name) => (string?)metadata.Element(Nuspec + name);

        metadata.Element(Nuspec + "license")!.Attribute("type")!.Value.Should().Be("expression");
        Field("license").Should().Be("Apache-2.0");
        Field("icon").Should().Be("icon.png");
        Field("readme").Should().Be("README.md");
        Field("projectUrl").Should().StartWith("https://");
        XElement repository = metadata.Element(Nuspec + "repository")!;
        repository.Attribute("type")!.Value.Should().Be("git");
        repository.Attribute("url")!.Value.Should().Be(Field("projectUrl"));
        repository.Attribute("commit")!.Value.Should().MatchRegex("^[0-9a-f]{40}$");

        // The release notes are CHANGELOG.md's top section (its first "## " heading up to the next).
        string[] changelog = File.ReadAllLines(Path.Combine(TestPaths.RepoRoot, "CHANGELOG.md"));
        int first = Array.FindIndex(changelog, l => l.StartsWith("## ", StringComparison.Ordinal));
        int next = Array.FindIndex(changelog, first + 1, l => l.StartsWith("## ", StringComparison.Ordinal));
        string[] section = [.. changelog[first..(next < 0 ? changelog.Length : next)].Where(l => l.Length > 0)];
        string notes = Field("releaseNotes")!;
        notes.Should().StartWith(section[0] + "\n");
        notes.Should().Contain(section[^1].Contains("](", StringComparison.Ordinal) ? section[^1][..section[^1].IndexOf("](", StringComparison.Ordinal)] : section[^1]);
        if (next >= 0)
        {
            notes.Should().NotContain(changelog[next]);
        }

        notes.Should().EndWith($"Full changelog: {Field("projectUrl")}/blob/main/CHANGELOG.md");
    }

    // The package README is the repository file with its relative links made absolute (nuget.org shows it out of the repository).
    private static void CheckReadme(ZipArchive zip, string source)
    {
        string packaged = System.Text.Encoding.UTF8.GetString(Read(zip, "README.md"));
        string original = File.ReadAllText(source);
        var link = new Regex(@"\]\(([^)\s]+)\)");
        string[] originalTargets = [.. link.Matches(original).Select(m => m.Groups[1].Value)];
        string[] packagedTargets = [.. link.Matches(packaged).Select(m => m.Groups[1].Value)];

        originalTargets.Should().Contain(t => !t.Contains("://", StringComparison.Ordinal), "the source has relative links to rewrite");
        packagedTargets.Should().HaveCount(originalTargets.Length).And.OnlyContain(t => t.StartsWith("https://", StringComparison.Ordinal) || t.StartsWith('#'));
        link.Replace(packaged, "]()").Should().Be(link.Replace(original, "]()"));
    }

    private static XDocument Xml(ZipArchive zip, string entry)
    {
        using Stream stream = zip.GetEntry(entry)!.Open();
        return XDocument.Load(stream);
    }

    private static byte[] Read(ZipArchive zip, string entry)
    {
        using Stream stream = zip.GetEntry(entry)!.Open();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>Packs each package once for the whole class, into a temporary folder.</summary>
    public sealed class Packages : IDisposable
    {
        private readonly TempDir _dir = new();
        private readonly Lazy<Task<string>> _library;
        private readonly Lazy<Task<string>> _tool;

        public Packages()
        {
            _library = new(() => PackAsync("src/Virtualization.Core", "Virtualization.Core"));
            _tool = new(() => PackAsync("src/Virtualization.Cli", "Virtualization.Cli"));
        }

        public Task<string> LibraryAsync() => _library.Value;

        public Task<string> ToolAsync() => _tool.Value;

        public void Dispose() => _dir.Dispose();

        private async Task<string> PackAsync(string project, string id)
        {
            Requirement.Require(
                Requirement.Arm64Compiler, File.Exists("/usr/bin/aarch64-linux-gnu-gcc"), "packing needs vcore-exec for linux-arm64: apt-get install gcc-aarch64-linux-gnu");
            string output = Path.Combine(_dir.Path, id);
            // A pack of one project takes seconds; the bound only stops a hung SDK from holding the run until CI's limit.
            (int exit, string stdout, string stderr) = await TestProcess.RunAsync(
                Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet",
                TimeSpan.FromMinutes(5),
                "pack", Path.Combine(TestPaths.RepoRoot, project), "-c", TestPaths.Configuration, "--no-build", "-o", output,
                "-p:VcoreRequireAllNativeHelpers=true", "-nologo");
            exit.Should().Be(0, $"dotnet pack {project} failed:\n{stdout}\n{stderr}");
            return Directory.GetFiles(output, id + ".*.nupkg").Single(f => !f.EndsWith(".snupkg", StringComparison.Ordinal));
        }
    }
}
