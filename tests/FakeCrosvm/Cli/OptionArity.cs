namespace FakeCrosvm.Cli;

/// <summary>How many values an option takes and how often it may appear.</summary>
internal enum OptionArity
{
    /// <summary>No value; may be repeated harmlessly.</summary>
    Switch,

    /// <summary>One value; a second occurrence is "duplicate values provided".</summary>
    Single,

    /// <summary>One value per occurrence; may be repeated.</summary>
    Repeated,
}
