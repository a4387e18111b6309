using System.Reflection;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Virtualization.Core.Lifecycle;

namespace Virtualization.Core.Vmm;

/// <summary>
/// Makes what every VM start of this process shares before the first start needs it, when a service is built: the
/// assemblies the start and stop paths load, the helper's path, the I/O listener, the exit watcher and the spawn
/// thread. A start that meets EMFILE fails and the next one may succeed, but the runtime remembers a failed assembly
/// load (and a failed static initializer) for the life of the process: a first start that had to load
/// <c>System.Security.Cryptography</c> while no descriptor was free made every later start of the process fail the
/// same way. Best effort: what fails here is left to the first start, which reports it.
/// </summary>
internal static class ProcessWideSetup
{
    private static volatile bool s_done;

    /// <summary>What is made, in order (each throws when it cannot be made now).</summary>
    internal static readonly Action[] Steps =
    [
        LoadReferencedAssemblies,
        LocateHelper,
        StartListener,
        PidfdWatcher.EnsureStarted,
        SpawnThread.EnsureStarted,
    ];

    /// <summary>Whether everything was made (for tests).</summary>
    internal static bool IsDone => s_done;

    /// <summary>
    /// The assemblies this library and the packages it uses reference (a test keeps the list equal to those
    /// references): a graceful crosvm stop, say, goes through MedallionShell, which needs <c>netstandard</c>. Listed
    /// rather than read from the assemblies' metadata, which trimming may remove.
    /// </summary>
    internal static readonly string[] ReferencedAssemblies =
    [
        "System.Runtime", "System.Collections", "System.Collections.Concurrent", "System.ComponentModel.Primitives",
        "System.Diagnostics.DiagnosticSource", "System.Diagnostics.Process", "System.IO.Hashing", "System.Linq",
        "System.Memory", "System.Net.Primitives", "System.Net.Sockets", "System.Runtime.InteropServices",
        "System.Runtime.Intrinsics", "System.Security.Cryptography", "System.Text.Encoding.Extensions", "System.Text.Json",
        "System.Text.RegularExpressions", "System.Threading", "System.Threading.Thread", "Microsoft.Win32.Primitives",
        "Microsoft.Extensions.Logging.Abstractions", "Microsoft.Extensions.DependencyInjection.Abstractions",
        "Google.Protobuf", "MedallionShell", "netstandard",
    ];

    /// <summary>Makes what is not made yet; logs (at debug level) and leaves to the first start what fails.</summary>
    internal static void TryPrepare(ILogger logger)
    {
        // Stryker disable Logical,Boolean,Block : the steps are idempotent; without the shortcut each service runs them again, to the same end.
        if (!s_done && TryRun(Steps, logger))
        {
            s_done = true;
        }

        // Stryker restore Logical,Boolean,Block
    }

    /// <summary>Runs <paramref name="steps"/> in order up to the first that throws, which is logged; true when all ran.</summary>
    internal static bool TryRun(IEnumerable<Action> steps, ILogger logger)
    {
        try
        {
            foreach (Action step in steps)
            {
                step();
            }

            return true;
        }
#pragma warning disable CA1031 // Best effort: the first start makes the same calls and reports their failure.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Log.ProcessSetupDeferred(logger, e);
            return false;
        }
    }

    /// <summary>
    /// Loads those of <see cref="ReferencedAssemblies"/> that are not loaded yet (each load opens a file). Nothing to do
    /// where code is compiled ahead of time: everything is in the executable.
    /// </summary>
    internal static void LoadReferencedAssemblies()
    {
        if (RuntimeFeature.IsDynamicCodeSupported)
        {
            LoadMissing(ReferencedAssemblies, AppDomain.CurrentDomain.GetAssemblies(), static name => Assembly.Load(name));
        }
    }

    /// <summary>
    /// Loads (with <paramref name="load"/>) each of <paramref name="names"/> that is not among <paramref name="loaded"/>.
    /// One that is not deployed with the application is passed over: it is reported where it would be used.
    /// </summary>
    internal static void LoadMissing(IEnumerable<string> names, IEnumerable<Assembly> loaded, Func<AssemblyName, Assembly> load)
    {
        var present = new HashSet<string>(loaded.Select(a => a.GetName().Name ?? string.Empty), StringComparer.Ordinal);
        foreach (string name in names)
        {
            if (!present.Contains(name))
            {
                try
                {
                    _ = load(new AssemblyName(name));
                }
                catch (FileNotFoundException)
                {
                }
            }
        }
    }

    private static void LocateHelper() => _ = NativeHelper.Path;

    private static void StartListener() => _ = VmmIoListener.Name;
}
