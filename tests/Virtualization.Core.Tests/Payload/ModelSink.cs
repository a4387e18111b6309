using System.Collections.Concurrent;
using Virtualization.Core.Payload;

namespace Virtualization.Core.Tests.Payload;

/// <summary>
/// A stand-in VM for channel tests: applies the library's forward-only rule (<see cref="PayloadProgress"/>) and records
/// what it accepted, so tests can check what a channel delivered and that the state never went backward.
/// </summary>
internal sealed class ModelSink : IPayloadReportSink
{
    private readonly Lock _gate = new();

    public VirtualMachineState Reached { get; private set; } = VirtualMachineState.Starting;

    public ConcurrentQueue<PayloadReport> Received { get; } = new();

    public ConcurrentQueue<PayloadReport> Accepted { get; } = new();

    public List<VirtualMachineState> History { get; } = [VirtualMachineState.Starting];

    /// <summary>Released once per accepted report.</summary>
    public SemaphoreSlim AcceptedSignal { get; } = new(0);

    public ValueTask<string?> ReportAsync(PayloadReport report, CancellationToken cancellationToken)
    {
        Received.Enqueue(report);
        lock (_gate)
        {
            if (PayloadProgress.Refusal(Reached, report) is { } refusal)
            {
                return ValueTask.FromResult<string?>(refusal);
            }

            Reached = report.Target;
            History.Add(Reached);
            Accepted.Enqueue(report);
            AcceptedSignal.Release();
            return ValueTask.FromResult<string?>(null);
        }
    }
}
