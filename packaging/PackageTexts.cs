#nullable enable
// MSBuild task (compiled by RoslynCodeTaskFactory, see Directory.Build.targets): the texts a package carries that are
// made from the repository's Markdown at pack time.
//  - The package README: a copy of ReadmeSource whose relative links point into the repository (LinkBase), because
//    nuget.org shows the README outside the repository and relative links would not resolve there.
//  - The release notes: the top section of CHANGELOG.md (from its first "## " heading to the next), links made
//    absolute the same way, and a link to the whole changelog.
using System;
using System.IO;
using System.Text.RegularExpressions;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public sealed class PackageTexts : Task
{
    [Required]
    public string ReadmeSource { get; set; } = "";

    /// <summary>What a relative link in the README is relative to, as a URL ending in '/'.</summary>
    [Required]
    public string ReadmeLinkBase { get; set; } = "";

    [Required]
    public string ReadmeOutput { get; set; } = "";

    [Required]
    public string Changelog { get; set; } = "";

    /// <summary>The repository root as a URL ending in '/' (the changelog's links are relative to it).</summary>
    [Required]
    public string RepositoryBase { get; set; } = "";

    [Output]
    public string ReleaseNotes { get; set; } = "";

    public override bool Execute()
    {
        string readme = Absolute(File.ReadAllText(ReadmeSource), ReadmeLinkBase);
        if (!File.Exists(ReadmeOutput) || File.ReadAllText(ReadmeOutput) != readme)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(ReadmeOutput)!);
            File.WriteAllText(ReadmeOutput, readme);
        }

        Match top = Regex.Match(File.ReadAllText(Changelog).Replace("\r\n", "\n"), @"^## .*?(?=^## |\z)", RegexOptions.Multiline | RegexOptions.Singleline);
        if (!top.Success)
        {
            Log.LogError($"{Changelog} has no '## ' section to take the release notes from.");
            return false;
        }

        ReleaseNotes = Absolute(top.Value.Trim(), RepositoryBase) + $"\n\nFull changelog: {RepositoryBase}CHANGELOG.md";
        return true;
    }

    // [text](target) with a relative target -> [text](base + target). Absolute URLs and in-page anchors stay.
    private static string Absolute(string markdown, string linkBase) =>
        Regex.Replace(markdown, @"\]\((?![a-zA-Z][a-zA-Z0-9+.-]*:|#|/)([^)\s]+)\)", m => "](" + linkBase + m.Groups[1].Value + ")");
}
