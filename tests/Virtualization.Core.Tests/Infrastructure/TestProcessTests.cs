using System.Globalization;

namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>
/// The suite's process runner: the tests that call compilers, disk tools and child hosts trust what it returns and
/// rely on it never hanging, so both are checked here.
/// </summary>
public sealed class TestProcessTests
{
    [Fact(Timeout = 30000)]
    public async Task EachArgumentArrivesAsOneArgvElement_AndBothOutputsAndTheCodeComeBack()
    {
        (int exit, string stdout, string stderr) = await TestProcess.RunAsync(
            "/bin/sh", "-c", "printf '[%s]\\n' \"$@\"; printf 'on stderr' >&2; exit 7", "sh", "a b", "x=y,z", "", "$HOME");

        exit.Should().Be(7);
        stdout.Should().Be("[a b]\n[x=y,z]\n[]\n[$HOME]\n");
        stderr.Should().Be("on stderr");
    }

    [Fact(Timeout = 30000)]
    public async Task Run_SetsTheCLocale()
    {
        (_, string stdout, _) = await TestProcess.RunAsync("/bin/sh", "-c", "printf %s \"$LC_ALL\"");

        stdout.Should().Be("C");
    }

    [Fact(Timeout = 60000)]
    public async Task AProgramThatOutlivesItsBound_IsKilledWithWhatItStarted_AndTheTimeoutNamesIt()
    {
        using var dir = new TempDir();
        string pidFile = dir.File("child.pid");

        // The shell starts a grandchild and waits for it; neither exits by itself. (5 s: the shell has long written the pid
        // file by then, so the check below is about a grandchild that existed.)
        Func<Task> run = () => TestProcess.RunAsync(
            "/bin/sh", TimeSpan.FromSeconds(5), "-c", "sleep 300 & echo $! > \"$1\"; wait", "sh", pidFile);

        (await run.Should().ThrowAsync<TimeoutException>())
            .Which.Message.Should().StartWith("/bin/sh -c").And.Contain("did not exit within 5 s and was killed");
        int grandchild = int.Parse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture);
        (await ProcessProbe.WaitUntilAsync(() => !ProcessProbe.IsAlive(grandchild), TimeSpan.FromSeconds(20)))
            .Should().BeTrue("the grandchild (pid {0}) is killed with the program", grandchild);
    }
}
