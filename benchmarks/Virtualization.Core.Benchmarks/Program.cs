using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;

namespace Virtualization.Core.Benchmarks;

/// <summary>
/// Entry point: BenchmarkDotNet's own command line (<c>--filter</c>, <c>--list flat</c>, <c>--job</c>,
/// <c>--artifacts</c>, ...). The jobs are declared on each benchmark class; this adds the median and ratio columns
/// and groups benchmarks by category so each category is compared with its own baseline.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (!OperatingSystem.IsLinux())
        {
            Console.Error.WriteLine("Virtualization.Core runs on Linux only; so do its benchmarks.");
            return 2;
        }

        IConfig config = DefaultConfig.Instance
            .AddColumn(StatisticColumn.Median, StatisticColumn.Min, StatisticColumn.Max)
            .AddLogicalGroupRules(BenchmarkLogicalGroupRule.ByCategory)
            .WithOption(ConfigOptions.JoinSummary, false);

        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    }
}
