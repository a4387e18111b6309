using System.Text;
using Virtualization.Core.Vmm;

namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>
/// The test guest built by <c>guest/build-image.sh</c> into <c>.guest/</c>: a Debian kernel and a busybox initramfs
/// whose init runs <c>vcore.script=&lt;base64&gt;</c> or <c>vcore.action=...</c> from the kernel command line.
/// </summary>
internal static class GuestImage
{
    public static string Directory => Environment.GetEnvironmentVariable("VCORE_GUEST_DIR") ?? Path.Combine(TestPaths.RepoRoot, ".guest");

    public static string Kernel => Path.Combine(Directory, "vmlinuz");

    public static string Initrd => Path.Combine(Directory, "initramfs.cpio.gz");

    /// <summary>Skips the test, saying what is missing, unless QEMU and the guest image are here.</summary>
    public static void SkipUnlessAvailable()
    {
        Requirement.Require(
            Requirement.Qemu, ExecutableResolver.TryResolve("qemu-system-x86_64", out _), "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)");
        Requirement.Require(
            Requirement.GuestImage, File.Exists(Kernel) && File.Exists(Initrd), $"the guest image is not built: run guest/build-image.sh (looked in {Directory})");
        string stamp = Path.Combine(Directory, "stamp");
        if (File.Exists(stamp) && File.ReadAllText(stamp).Trim() != SourceStamp.Value)
        {
            throw new InvalidOperationException(
                $"The guest image in {Directory} was built from other guest sources than this checkout's: run guest/build-image.sh.");
        }
    }

    // What guest/build-image.sh writes to its stamp: the SHA-256 of the script and the guest sources, concatenated.
    private static readonly Lazy<string> SourceStamp = new(() =>
    {
        string guest = Path.Combine(TestPaths.RepoRoot, "guest");
        byte[] all = new[] { "build-image.sh", "init.sh", "vsock-echo.c", "vcore-agent.c" }
            .SelectMany(name => File.ReadAllBytes(Path.Combine(guest, name)))
            .ToArray();
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(all));
    });

    /// <summary>A config that boots the guest and runs <paramref name="script"/> (then powers off).</summary>
    public static VirtualMachineRawConfig Script(string script) => new()
    {
        Kernel = Kernel,
        Initrd = Initrd,
        Params = "quiet vcore.script=" + Convert.ToBase64String(Encoding.UTF8.GetBytes(script)),
    };

    /// <summary>A config that boots the guest and performs <paramref name="action"/> (poweroff, reboot, panic, hang).</summary>
    public static VirtualMachineRawConfig Action(string action) => new()
    {
        Kernel = Kernel,
        Initrd = Initrd,
        Params = "quiet vcore.action=" + action,
    };

    /// <summary>A harness whose service runs QEMU under TCG (nested KVM hangs on these hosts).</summary>
    public static TestHarness Harness(Func<VirtualizationServiceOptions, VirtualizationServiceOptions>? configure = null, bool realVsock = false) =>
        new(
            o =>
        {
            o = o with { Vmm = VmmKind.Qemu, Acceleration = VmAcceleration.Tcg, StartTimeout = TimeSpan.FromSeconds(30), StopGracePeriod = TimeSpan.FromSeconds(4) };
            return configure is null ? o : configure(o);
        },
            realVsock);
}
