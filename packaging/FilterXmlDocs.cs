#nullable enable
// MSBuild task (compiled by RoslynCodeTaskFactory, see Directory.Build.targets): removes from an XML documentation
// file every <member> that a consumer of the assembly cannot see, so the shipped XML documents the public API only.
// Visibility comes from the compiled assembly, read with MetadataLoadContext: a type counts when it and every type enclosing it are
// public (or protected, when nested); a member when it is public/protected and its type counts. Methods and indexers
// are matched by type, name and parameter count (an internal overload with the same name and count as a public one
// would be kept: there is none today, and the package test checks the result independently).
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Xml.Linq;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public sealed class FilterXmlDocs : Task
{
    [Required]
    public string AssemblyPath { get; set; } = "";

    [Required]
    public string DocumentationFile { get; set; } = "";

    /// <summary>The assemblies the assembly references (to resolve its signatures).</summary>
    public ITaskItem[] References { get; set; } = Array.Empty<ITaskItem>();

    public override bool Execute()
    {
        if (!File.Exists(DocumentationFile))
        {
            return true;
        }

        var visible = new HashSet<string>(StringComparer.Ordinal);
        // Read through MetadataLoadContext: the assembly is inspected, never loaded into the build's process.
        string runtime = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var paths = Directory.GetFiles(runtime, "*.dll").Concat(References.Select(r => r.ItemSpec)).Append(AssemblyPath)
            .GroupBy(Path.GetFileName, StringComparer.OrdinalIgnoreCase).Select(g => g.Last());
        // The task is compiled against netstandard, where MetadataLoadContext is not visible: it is created by name
        // from the copy the SDK itself ships (next to MSBuild), and used through the ordinary reflection types.
        Assembly mlc = Assembly.LoadFrom(Path.Combine(Path.GetDirectoryName(typeof(Task).Assembly.Location)!, "System.Reflection.MetadataLoadContext.dll"));
        object resolver = Activator.CreateInstance(mlc.GetType("System.Reflection.PathAssemblyResolver", throwOnError: true)!, paths.ToList())!;
        object loader = Activator.CreateInstance(mlc.GetType("System.Reflection.MetadataLoadContext", throwOnError: true)!, resolver, null)!;
        using (var context = (IDisposable)loader)
        {
            var assembly = (Assembly)loader.GetType().GetMethod("LoadFromAssemblyPath")!.Invoke(loader, new object[] { AssemblyPath })!;
            foreach (Type type in assembly.GetTypes().Where(t => t.IsVisible))
            {
                string name = TypeName(type);
                visible.Add("T:" + name);
                const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
                foreach (MethodBase method in type.GetConstructors(all).Cast<MethodBase>().Concat(type.GetMethods(all)))
                {
                    if (IsVisible(method))
                    {
                        string member = method.Name.Replace('.', '#') + (method.IsGenericMethodDefinition ? "``" + method.GetGenericArguments().Length : "");
                        visible.Add(Key(name, member, method.GetParameters().Length));
                    }
                }

                foreach (PropertyInfo property in type.GetProperties(all))
                {
                    if (property.GetAccessors(nonPublic: true).Any(IsVisible))
                    {
                        visible.Add(Key(name, property.Name, property.GetIndexParameters().Length));
                    }
                }

                foreach (FieldInfo field in type.GetFields(all))
                {
                    if (field.IsPublic || field.IsFamily || field.IsFamilyOrAssembly)
                    {
                        visible.Add(Key(name, field.Name, 0));
                    }
                }

                foreach (EventInfo ev in type.GetEvents(all))
                {
                    if (ev.AddMethod is { } adder && IsVisible(adder))
                    {
                        visible.Add(Key(name, ev.Name, 0));
                    }
                }
            }
        }

        XDocument doc = XDocument.Load(DocumentationFile, LoadOptions.PreserveWhitespace);
        XElement? members = doc.Root?.Element("members");
        if (members is null)
        {
            return true;
        }

        int removed = 0;
        foreach (XElement member in members.Elements("member").ToList())
        {
            string id = (string?)member.Attribute("name") ?? "";
            if (DocIdKey(id) is { } key && !visible.Contains(key))
            {
                if (member.PreviousNode is XText whitespace && string.IsNullOrWhiteSpace(whitespace.Value))
                {
                    whitespace.Remove();
                }

                member.Remove();
                removed++;
            }
        }

        if (removed > 0)
        {
            doc.Save(DocumentationFile, SaveOptions.DisableFormatting);
        }

        Log.LogMessage(MessageImportance.Low, $"{DocumentationFile}: removed {removed} non-public members.");
        return true;
    }

    private static string Key(string type, string member, int parameters) => $"{type}|{member}|{parameters}";

    // "M:Ns.Type`1.Method``2(System.String,Ns.X{System.Int32})~R" -> "Ns.Type`1|Method``2|2"; "T:Ns.Type" -> itself.
    // Null for ids this filter does not judge (namespaces, errors).
    private static string? DocIdKey(string id)
    {
        if (id.Length < 3 || id[1] != ':')
        {
            return null;
        }

        char kind = id[0];
        if (kind == 'T')
        {
            return id;
        }

        if (kind is not ('M' or 'P' or 'F' or 'E'))
        {
            return null;
        }

        string body = id.Substring(2);
        int tilde = body.IndexOf('~');
        if (tilde >= 0)
        {
            body = body.Substring(0, tilde);
        }

        int parameters = 0;
        int paren = body.IndexOf('(');
        if (paren >= 0)
        {
            parameters = 1;
            int depth = 0;
            foreach (char c in body.Substring(paren + 1, body.Length - paren - 2))
            {
                if (c is '{' or '[')
                {
                    depth++;
                }
                else if (c is '}' or ']')
                {
                    depth--;
                }
                else if (c == ',' && depth == 0)
                {
                    parameters++;
                }
            }

            body = body.Substring(0, paren);
        }

        int dot = body.LastIndexOf('.');
        return dot < 0 ? null : Key(body.Substring(0, dot), body.Substring(dot + 1), parameters);
    }

    private static bool IsVisible(MethodBase method) => method.IsPublic || method.IsFamily || method.IsFamilyOrAssembly;

    // Doc-comment type names: namespace-qualified, nested types joined with '.', generic arity kept (`1).
    private static string TypeName(Type type) =>
        type.DeclaringType is { } outer ? TypeName(outer) + "." + type.Name : type.FullName!;
}
