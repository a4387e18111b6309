namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>
/// Run-time capability checks for tests. A missing capability skips the test with the reason, unless the environment
/// variable <c>VCORE_REQUIRE</c> (a comma-separated list, set by .ci/run for everything CI installs) names it: then
/// the test fails, so CI cannot go green by skipping.
/// </summary>
internal static class Requirement
{
    /// <summary>QEMU (<c>qemu-system-x86_64</c>).</summary>
    public const string Qemu = "qemu";

    /// <summary>The test guest image (guest/build-image.sh).</summary>
    public const string GuestImage = "guest-image";

    /// <summary>A C compiler and the kernel's UAPI headers (linux-libc-dev).</summary>
    public const string CCompiler = "cc";

    /// <summary>Root, able to choose the next pid (<c>/proc/sys/kernel/ns_last_pid</c>).</summary>
    public const string PidControl = "pid-control";

    /// <summary>The host's vsock core (<c>/dev/vsock</c>).</summary>
    public const string Vsock = "vsock";

    /// <summary>The arm64 cross compiler (gcc-aarch64-linux-gnu): a package carries vcore-exec for both RIDs.</summary>
    public const string Arm64Compiler = "cc-arm64";

    private static readonly HashSet<string> s_required =
        [.. (Environment.GetEnvironmentVariable("VCORE_REQUIRE") ?? string.Empty)
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    /// <summary>Whether CI declared <paramref name="capability"/> present.</summary>
    public static bool IsRequired(string capability) => s_required.Contains(capability);

    /// <summary>Skips (or, when required, fails) unless <paramref name="available"/>.</summary>
    public static void Require(string capability, bool available, string reason)
    {
        if (available)
        {
            return;
        }

        if (IsRequired(capability))
        {
            throw new Xunit.Sdk.XunitException(
                $"Capability '{capability}' is required here (VCORE_REQUIRE) but missing: {reason}");
        }

        Skip.If(true, reason);
    }
}
