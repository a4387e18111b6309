using Virtualization.Core.Vmm;

namespace Virtualization.Core.Tests.Vmm;

/// <summary>The bounded tail of a process's output that error messages quote.</summary>
public sealed class OutputTailTests
{
    [Fact]
    public void ToString_Empty_IsEmpty() => new OutputTail().ToString().Should().BeEmpty();

    [Fact]
    public void ToString_JoinsTheLinesWithNewlines_InOrder()
    {
        var tail = new OutputTail(5);
        tail.Add("first");
        tail.Add("");
        tail.Add("third");

        tail.ToString().Should().Be("first\n\nthird");
    }

    [Fact]
    public void Add_ExactlyMaxLines_KeepsThemAll()
    {
        var tail = new OutputTail(3);
        tail.Add("a");
        tail.Add("b");
        tail.Add("c");

        tail.ToString().Should().Be("a\nb\nc");
    }

    [Fact]
    public void Add_PastMaxLines_DropsTheOldest()
    {
        var tail = new OutputTail(3);
        foreach (string line in new[] { "a", "b", "c", "d", "e" })
        {
            tail.Add(line);
        }

        tail.ToString().Should().Be("c\nd\ne");
    }

    [Fact]
    public void Default_Keeps20Lines()
    {
        var tail = new OutputTail();
        for (int i = 1; i <= 21; i++)
        {
            tail.Add($"line {i}");
        }

        tail.ToString().Should().Be(string.Join('\n', Enumerable.Range(2, 20).Select(i => $"line {i}")));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(511)]
    [InlineData(512)]
    public void Add_UpTo512Characters_IsKeptWhole(int length)
    {
        var tail = new OutputTail();
        string line = new('x', length);

        tail.Add(line);

        tail.ToString().Should().Be(line);
    }

    [Theory]
    [InlineData(513)]
    [InlineData(10_000)]
    public void Add_LongerThan512Characters_IsCutAt512_WithAnEllipsis(int length)
    {
        var tail = new OutputTail();

        tail.Add(new string('a', 512) + new string('b', length - 512));

        string kept = tail.ToString();
        kept.Should().Be(new string('a', 512) + "\u2026");
        kept.Length.Should().Be(513);
    }
}
