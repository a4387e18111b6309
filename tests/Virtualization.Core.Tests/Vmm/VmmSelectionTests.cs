using Virtualization.Core.Tests.Infrastructure;
using Virtualization.Core.Vmm;

namespace Virtualization.Core.Tests.Vmm;

/// <summary>What <see cref="VmmKind.Auto"/> resolves to, given which VMMs are found and whether KVM is usable.</summary>
public sealed class VmmSelectionTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Found(string name) => ShellScript.Write(_dir.File(name), "exit 0");

    private string Missing(string name) => _dir.File(name);

    [Theory]
    [InlineData(false, false, false, null)]
    [InlineData(false, false, true, null)]
    [InlineData(false, true, false, VmmKind.Qemu)]
    [InlineData(false, true, true, VmmKind.Qemu)]
    [InlineData(true, false, false, VmmKind.Crosvm)]
    [InlineData(true, false, true, VmmKind.Crosvm)]
    [InlineData(true, true, false, VmmKind.Qemu)]
    [InlineData(true, true, true, VmmKind.Crosvm)]
    public void Pick_TruthTable(bool crosvmFound, bool qemuFound, bool kvmUsable, VmmKind? expected) =>
        VmmSelection.Pick(crosvmFound, qemuFound, kvmUsable).Should().Be(expected);

    [Theory]
    [InlineData(VmmKind.Crosvm)]
    [InlineData(VmmKind.Qemu)]
    public void Resolve_AnExplicitKind_IsKept_AndCountsAsFound_EvenWhenNothingIsInstalled(VmmKind kind)
    {
        VmmSelection.Resolve(kind, Missing("crosvm"), Missing("qemu"), kvmUsable: false, out bool found).Should().Be(kind);
        found.Should().BeTrue();
    }

    [Fact]
    public void Resolve_AutoWithNeitherFound_IsQemu_NotFound()
    {
        VmmSelection.Resolve(VmmKind.Auto, Missing("crosvm"), Missing("qemu"), kvmUsable: true, out bool found).Should().Be(VmmKind.Qemu);
        found.Should().BeFalse();
    }

    [Fact]
    public void Resolve_AutoWithQemuFound_IsQemu_Found()
    {
        VmmSelection.Resolve(VmmKind.Auto, Missing("crosvm"), Found("qemu"), kvmUsable: true, out bool found).Should().Be(VmmKind.Qemu);
        found.Should().BeTrue();
    }

    [Fact]
    public void Resolve_AutoWithCrosvmFoundAndKvm_IsCrosvm_Found()
    {
        VmmSelection.Resolve(VmmKind.Auto, Found("crosvm"), Found("qemu"), kvmUsable: true, out bool found).Should().Be(VmmKind.Crosvm);
        found.Should().BeTrue();
    }

    [Fact]
    public void Resolve_AutoWithOnlyCrosvmFoundAndNoKvm_IsCrosvm_Found()
    {
        VmmSelection.Resolve(VmmKind.Auto, Found("crosvm"), Missing("qemu"), kvmUsable: false, out bool found).Should().Be(VmmKind.Crosvm);
        found.Should().BeTrue();
    }

    [Fact]
    public void InstallHint_NamesThePackagesAndTheOption()
    {
        VmmSelection.InstallHint.Should().StartWith("Neither crosvm nor QEMU was found (VmmKind.Auto): install QEMU (")
            .And.Contain("Debian/Ubuntu: sudo apt-get install qemu-system-x86; ")
            .And.Contain("Fedora: sudo dnf install qemu-system-x86-core")
            .And.Contain("https://crosvm.dev/book/building_crosvm/")
            .And.EndWith("and put it on PATH or set VirtualizationServiceOptions.CrosvmPath.");
    }
}
