using System.Collections.Concurrent;
using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace ReflectedDiffusion.Cli;

/// <summary>
/// Summaries from the XML documentation file next to an assembly (ReflectedDiffusion.ML.xml beside
/// ReflectedDiffusion.ML.dll), so that the help of a generated option says what the API docs say.
/// </summary>
internal static partial class XmlDocs
{
    private static readonly ConcurrentDictionary<Assembly, IReadOnlyDictionary<string, XElement>> Files = new();

    /// <summary>
    /// The summary of <paramref name="field"/> as plain text, or null when the documentation file is absent.
    /// <paramref name="reference"/> renders a <c>cref</c> (such as <c>F:Namespace.Type.Member</c>); null takes the member's name.
    /// </summary>
    public static string? Summary(FieldInfo field, Func<string, string?> reference)
    {
        var members = Files.GetOrAdd(field.DeclaringType!.Assembly, Load);
        if (!members.TryGetValue($"F:{field.DeclaringType.FullName}.{field.Name}", out var member)) return null;
        return member.Element("summary") is { } summary ? Text(summary, reference) : null;
    }

    private static IReadOnlyDictionary<string, XElement> Load(Assembly assembly)
    {
        string path = Path.ChangeExtension(assembly.Location, ".xml");
        if (!File.Exists(path)) return new Dictionary<string, XElement>();
        return XDocument.Load(path).Descendants("member")
            .Where(m => m.Attribute("name") is not null)
            .GroupBy(m => m.Attribute("name")!.Value)
            .ToDictionary(g => g.Key, g => g.First());
    }

    private static string Text(XElement element, Func<string, string?> reference)
    {
        var text = new System.Text.StringBuilder();
        foreach (var node in element.Nodes())
        {
            text.Append(node switch
            {
                XText t => t.Value,
                XElement { Name.LocalName: "see" or "seealso" } e when e.Attribute("cref") is { } cref => reference(cref.Value) ?? MemberName(cref.Value),
                XElement e when e.Attribute("name") is { } name => name.Value, // paramref, typeparamref
                XElement e => Text(e, reference),
                _ => "",
            });
        }
        return Whitespace().Replace(text.ToString(), " ").Trim();
    }

    /// <summary>The member's own name from a cref: <c>M:A.B.C(System.Int32)</c> is C.</summary>
    public static string MemberName(string cref)
    {
        string name = cref.Contains(':') ? cref[(cref.IndexOf(':') + 1)..] : cref;
        if (name.IndexOf('(') is int open and >= 0) name = name[..open];
        return name[(name.LastIndexOf('.') + 1)..];
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
