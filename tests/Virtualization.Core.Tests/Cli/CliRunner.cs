namespace Virtualization.Core.Tests.Cli;

/// <summary>Runs the <c>vm</c> tool in-process and captures what it prints.</summary>
internal static class CliRunner
{
    public static async Task<CliResult> RunAsync(params string[] args) => await RunAsync(args, CancellationToken.None);

    public static async Task<CliResult> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = await Virtualization.Cli.Program.RunAsync(args, stdout, stderr, cancellationToken);
        return new CliResult(code, stdout.ToString(), stderr.ToString());
    }
}
