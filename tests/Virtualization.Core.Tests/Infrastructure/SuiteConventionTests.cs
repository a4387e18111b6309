using System.Reflection;
using System.Text.RegularExpressions;

namespace Virtualization.Core.Tests.Infrastructure;

/// <summary>
/// The suite's own rules (docs/testing.md, "Adding a test"), checked over every test method of this assembly so that a
/// new test cannot quietly break them: every async test has a timeout, and every name has the one style.
/// </summary>
public sealed partial class SuiteConventionTests
{
    private static readonly MethodInfo[] Tests = [.. typeof(SuiteConventionTests).Assembly.GetTypes()
        .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
        .Where(m => m.GetCustomAttribute<FactAttribute>() is not null)];

    [Fact]
    public void Reflection_SeesTheWholeSuite() => Tests.Length.Should().BeGreaterThan(900, "the checks below must see every test method (997 on 2026-12-03)");

    [Fact]
    public void EveryAsyncTest_HasATimeout()
    {
        string[] missing = [.. Tests
            .Where(m => typeof(Task).IsAssignableFrom(m.ReturnType) || m.ReturnType == typeof(ValueTask))
            .Where(m => m.GetCustomAttribute<FactAttribute>()!.Timeout <= 0)
            .Select(Name)];

        missing.Should().BeEmpty("an async test without a timeout hangs the whole run when it waits for an event that never comes");
    }

    [Fact]
    public void EveryTestName_IsSubjectConditionOutcome()
    {
        string[] offStyle = [.. Tests.Where(m => !StyleRegex().IsMatch(m.Name)).Select(Name)];

        offStyle.Should().BeEmpty("test names are PascalCase segments joined by underscores (Subject_Condition_Outcome)");
    }

    private static string Name(MethodInfo m) => $"{m.DeclaringType!.Name}.{m.Name}";

    // Two or more PascalCase segments; a segment may start with a digit (a size, a code) but never with a lowercase letter.
    [GeneratedRegex("^[A-Z][A-Za-z0-9]*(_[A-Z0-9][A-Za-z0-9]*)+$")]
    private static partial Regex StyleRegex();
}
