using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;

namespace Virtualization.Core.Benchmarks;

/// <summary>
/// Entry point: BenchmarkDotNet's own command line (<c>--filter</c>, <c>--list flat</c>, <c>--job</c>,
/// <c>--artifacts</c>, ...). The jobs are declared on each benchmark class; this adds the median and ratio columns
/// and groups benchmarks by category so each category is compared with its own baseline.
/// Two custom measurements that do not fit BenchmarkDotNet's model run instead when their switch comes first:
/// <c>--scale [--sizes 100,1000] [--samples 200] [--medallion 200]</c> (<see cref="ScaleRun"/>) and
/// <c>--profile [--count 300]</c> (<see cref="ProfileRun"/>).
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

        if (args.Length > 0 && args[0] == "--scale")
        {
            return ScaleRun.RunAsync(args).GetAwaiter().GetResult();
        }

        if (args.Length > 0 && args[0] == "--profile")
        {
            return ProfileRun.RunAsync(args).GetAwaiter().GetResult();
        }

        IConfig config = DefaultConfig.Instance
            .AddColumn(StatisticColumn.Median, StatisticColumn.Min, StatisticColumn.Max)
            .AddLogicalGroupRules(BenchmarkLogicalGroupRule.ByCategory)
            .WithOption(ConfigOptions.JoinSummary, false)
            // BenchmarkDotNet builds a boilerplate project per job (without the shared compiler); its default 2-minute
            // limit is too short on a busy 2-core machine.
            .WithBuildTimeout(TimeSpan.FromMinutes(10));

        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    }
}
