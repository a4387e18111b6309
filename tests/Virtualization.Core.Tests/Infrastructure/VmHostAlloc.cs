using System.Diagnostics;
using System.Globalization;

namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>
/// A separate process (<c>VmHost alloc</c>, see tests/VmHost) that creates VMs and holds their CIDs until disposed;
/// run as this user or as <see cref="OtherUser"/>.
/// </summary>
internal sealed class VmHostAlloc : IAsyncDisposable
{
    private readonly Process _process;

    private VmHostAlloc(Process process, IReadOnlyList<int> cids)
    {
        _process = process;
        Cids = cids;
    }

    /// <summary>The CIDs the host holds, in the order it got them.</summary>
    public IReadOnlyList<int> Cids { get; }

    /// <summary>Starts the host and waits until it holds <paramref name="count"/> CIDs.</summary>
    /// <param name="environment">Variables to set (a null value removes the variable).</param>
    public static async Task<VmHostAlloc> StartAsync(
        string cidNamespace,
        string temporaryDirectory,
        int count,
        int first,
        int last,
        bool asOtherUser = false,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        string[] arguments =
        [
            "alloc", cidNamespace, temporaryDirectory,
            count.ToString(CultureInfo.InvariantCulture),
            first.ToString(CultureInfo.InvariantCulture),
            last.ToString(CultureInfo.InvariantCulture),
        ];
        Process process;
        if (asOtherUser)
        {
            process = OtherUser.Start(TestPaths.VmHost, arguments, environment);
        }
        else
        {
            var psi = new ProcessStartInfo(TestPaths.VmHost)
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            foreach (string argument in arguments)
            {
                psi.ArgumentList.Add(argument);
            }

            OtherUser.Apply(psi, environment);
            process = Process.Start(psi)!;
        }

        Task<string> stderr = process.StandardError.ReadToEndAsync();
        var cids = new List<int>();
        while (await process.StandardOutput.ReadLineAsync() is { } line)
        {
            if (line == "READY")
            {
                return new VmHostAlloc(process, cids);
            }

            cids.Add(int.Parse(line, CultureInfo.InvariantCulture));
        }

        await process.WaitForExitAsync();
        string error = await stderr;
        process.Dispose();
        throw new InvalidOperationException($"VmHost alloc exited with {process.ExitCode} before holding {count} CIDs: {error}");
    }

    /// <summary>Lets the host release its CIDs and exit; asserts that it exited cleanly.</summary>
    public async ValueTask DisposeAsync()
    {
        _process.StandardInput.Close();
        await _process.WaitForExitAsync();
        int exitCode = _process.ExitCode;
        _process.Dispose();
        exitCode.Should().Be(0, "VmHost disposes its service and exits cleanly");
    }
}
