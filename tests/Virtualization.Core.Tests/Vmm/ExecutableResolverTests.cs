using Virtualization.Core.Tests.Infrastructure;
using Virtualization.Core.Vmm;

namespace Virtualization.Core.Tests.Vmm;

/// <summary>
/// How a VMM executable is found: a path as given, a bare name on PATH. The tests set PATH, so they run alone
/// (<see cref="ProcessEnvironment"/>) and put it back.
/// </summary>
[Collection(ProcessEnvironment.Name)]
public sealed class ExecutableResolverTests : IDisposable
{
    private const UnixFileMode ReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    /// <summary>What <see cref="VirtualMachineStartException"/> appends to every message.</summary>
    private const string Dead = "\nThe VM is dead and cannot be started again; fix the cause and create a new VM.";

    /// <summary>The default search path when PATH is unset, in its order.</summary>
    private static readonly string[] StandardShells = ["/usr/local/bin/sh", "/usr/bin/sh", "/bin/sh"];

    private readonly string? _path = Environment.GetEnvironmentVariable("PATH");
    private readonly TempDir _dir = new();

    public void Dispose()
    {
        Environment.SetEnvironmentVariable("PATH", _path);
        _dir.Dispose();
    }

    private string Dir(string name) => Directory.CreateDirectory(_dir.File(name)).FullName;

    private static string Executable(string dir, string name) => ShellScript.Write(Path.Combine(dir, name), "exit 0");

    private static string FileWithMode(string dir, string name, UnixFileMode mode)
    {
        string path = Path.Combine(dir, name);
        File.WriteAllText(path, "#!/bin/sh\n");
        File.SetUnixFileMode(path, mode);
        return path;
    }

    [Fact]
    public void Resolve_MissingPath_ThrowsWithTheExactMessage()
    {
        string missing = _dir.File("no-such-vmm");

        VirtualMachineStartException e = FluentActions.Invoking(() => ExecutableResolver.Resolve(missing))
            .Should().ThrowExactly<VirtualMachineStartException>().Which;
        e.ExitCode.Should().BeNull("the VMM never ran");
        e.StandardErrorTail.Should().BeEmpty();
        e.InnerException.Should().BeNull();
        e.Message.Should().Be(
                $"Cannot launch the VMM: '{missing}' does not exist or is not executable. Install it or point VirtualizationServiceOptions at it." + Dead);
        ExecutableResolver.TryResolve(missing, out string? path).Should().BeFalse();
        path.Should().Be(missing);
    }

    [Fact]
    public void Resolve_MissingPath_WithAHint_TheHintReplacesTheAdvice()
    {
        string missing = _dir.File("no-such-vmm");

        FluentActions.Invoking(() => ExecutableResolver.Resolve(missing, "Build it first.")).Should().Throw<VirtualMachineStartException>()
            .Which.Message.Should().Be($"Cannot launch the VMM: '{missing}' does not exist or is not executable. Build it first." + Dead);
    }

    [Fact]
    public void Resolve_AFileThatIsNotExecutable_Throws()
    {
        string plain = FileWithMode(_dir.Path, "plain", ReadWrite);

        FluentActions.Invoking(() => ExecutableResolver.Resolve(plain)).Should().Throw<VirtualMachineStartException>()
            .Which.Message.Should().Contain($"'{plain}' does not exist or is not executable");
    }

    [Fact]
    public void Resolve_ADirectory_IsNotAnExecutable()
    {
        FluentActions.Invoking(() => ExecutableResolver.Resolve(_dir.Path)).Should().Throw<VirtualMachineStartException>();
    }

    [Theory]
    [InlineData(UnixFileMode.UserExecute)]
    [InlineData(UnixFileMode.GroupExecute)]
    [InlineData(UnixFileMode.OtherExecute)]
    public void Resolve_AnyExecuteBit_CountsAsExecutable(UnixFileMode bit)
    {
        string path = FileWithMode(_dir.Path, "vmm", bit);

        ExecutableResolver.Resolve(path).Should().Be(path);
    }

    [Fact]
    public void Resolve_ARelativePathWithASlash_IsMadeAbsolute()
    {
        string dir = Dir("rel");
        Executable(dir, "vmm");
        string relative = Path.GetRelativePath(Environment.CurrentDirectory, Path.Combine(dir, "vmm"));
        relative.Should().Contain("/").And.NotStartWith("/");

        ExecutableResolver.Resolve(relative).Should().Be(Path.Combine(dir, "vmm"));
    }

    [Fact]
    public void Resolve_ABareNameNotOnPath_ThrowsNamingPath()
    {
        string path = $"{Dir("a")}:{Dir("b")}";
        Environment.SetEnvironmentVariable("PATH", path);

        FluentActions.Invoking(() => ExecutableResolver.Resolve("no-such-vmm")).Should().ThrowExactly<VirtualMachineStartException>()
            .Which.Message.Should().Be(
                $"Cannot launch the VMM: 'no-such-vmm' was not found on PATH ({path}). Install it or point VirtualizationServiceOptions at it." + Dead);
        FluentActions.Invoking(() => ExecutableResolver.Resolve("no-such-vmm", "Try harder.")).Should().Throw<VirtualMachineStartException>()
            .Which.Message.Should().Be($"Cannot launch the VMM: 'no-such-vmm' was not found on PATH ({path}). Try harder." + Dead);
    }

    [Fact]
    public void Resolve_ABareNameOnPath_ReturnsTheFullPath_SkippingEmptyElements()
    {
        string dir = Dir("bin");
        string vmm = Executable(dir, "vmm");
        Environment.SetEnvironmentVariable("PATH", $"::{dir}");

        ExecutableResolver.Resolve("vmm").Should().Be(vmm);
        ExecutableResolver.TryResolve("vmm", out string? found).Should().BeTrue();
        found.Should().Be(vmm);
    }

    [Fact]
    public void Resolve_AnEmptyPathElement_IsNotTheCurrentDirectory()
    {
        string current = Dir("current");
        Executable(current, "vmm");
        string dir = Dir("bin");
        string vmm = Executable(dir, "vmm");
        Environment.SetEnvironmentVariable("PATH", $":{dir}");
        string before = Environment.CurrentDirectory;
        Environment.CurrentDirectory = current;
        try
        {
            ExecutableResolver.Resolve("vmm").Should().Be(vmm, "an empty PATH element is skipped, not read as the current directory");
        }
        finally
        {
            Environment.CurrentDirectory = before;
        }
    }

    [Fact]
    public void Resolve_TheFirstExecutableOnPath_Wins()
    {
        string first = Dir("first");
        string second = Dir("second");
        string wanted = Executable(first, "vmm");
        Executable(second, "vmm");
        Environment.SetEnvironmentVariable("PATH", $"{first}:{second}");

        ExecutableResolver.Resolve("vmm").Should().Be(wanted);
    }

    [Fact]
    public void Resolve_ANonExecutableFileOrADirectoryOnPath_IsSkipped()
    {
        string plain = Dir("plain");
        string folder = Dir("folder");
        string real = Dir("real");
        FileWithMode(plain, "vmm", ReadWrite);
        Directory.CreateDirectory(Path.Combine(folder, "vmm"));
        string wanted = Executable(real, "vmm");
        Environment.SetEnvironmentVariable("PATH", $"{plain}:{folder}:{real}");

        ExecutableResolver.Resolve("vmm").Should().Be(wanted);
    }

    [Fact]
    public void TryResolve_NothingExecutableOnPath_IsFalse_WithNoPath()
    {
        string plain = Dir("plain");
        FileWithMode(plain, "vmm", ReadWrite);
        Environment.SetEnvironmentVariable("PATH", plain);

        ExecutableResolver.TryResolve("vmm", out string? found).Should().BeFalse();
        found.Should().BeNull();
    }

    [Fact]
    public void TryResolve_PathUnset_LooksInTheStandardDirectories()
    {
        Environment.SetEnvironmentVariable("PATH", null);
        string[] candidates = [.. StandardShells.Where(File.Exists)];
        candidates.Should().NotBeEmpty("the test needs a shell in a standard directory");

        ExecutableResolver.TryResolve("sh", out string? found).Should().BeTrue();

        found.Should().Be(candidates[0], "the first standard directory that has it wins");
    }

    [Fact]
    public void TryResolve_PathUnset_AnExecutableOutsideTheStandardDirectories_IsNotFound()
    {
        Executable(Dir("elsewhere"), "vcore-test-only-vmm");
        Environment.SetEnvironmentVariable("PATH", null);

        ExecutableResolver.TryResolve("vcore-test-only-vmm", out _).Should().BeFalse();
    }
}
