// How the user ran the crawler, so that "Run '... --help'" names a command they can type again:
// `dotnet run --project examples/crawler --` (the README's way: `dotnet run` is then the parent
// process, and the crawler itself is an apphost deep under bin/), `dotnet path/crawler.dll`, or
// `./crawler`. Read from /proc (Linux, where libuv runs us); elsewhere, or if /proc says nothing
// useful, it is plain "crawler".

using System.Text;

namespace Evergreen.Crawler;

/// <summary>The command line prefix that runs this crawler, as the user typed it (for messages).</summary>
public static class CommandName
{
    private static readonly Lazy<string> s_current = new(() => From(ReadCommandLine("self"), ParentCommandLine(), Environment.GetCommandLineArgs().Length - 1));

    /// <summary>How this process was run, without its arguments: "dotnet run --project examples/crawler --", "./crawler".</summary>
    public static string Current => s_current.Value;

    /// <summary>
    /// The command prefix for a process whose own command line is <paramref name="self"/> (argv,
    /// null if unknown), whose parent's is <paramref name="parent"/>, and which got
    /// <paramref name="argumentCount"/> arguments of its own (they end both command lines).
    /// </summary>
    public static string From(IReadOnlyList<string>? self, IReadOnlyList<string>? parent, int argumentCount)
    {
        if (parent is { Count: >= 2 } && IsDotnet(parent[0]) && parent[1] == "run")
        {
            // `dotnet run [options] [--] [app arguments]`: what came before the app's arguments.
            int end = parent.Count - argumentCount;
            int dashes = IndexOf(parent, "--");
            if (dashes >= 0 && dashes < end) end = dashes;
            if (end >= 2) return Join(parent.Take(end)) + " --";
        }
        if (self is { Count: >= 1 })
        {
            if (IsDotnet(self[0]) && self.Count >= 2 && self[1].EndsWith(".dll", StringComparison.OrdinalIgnoreCase)) return Join(self.Take(2));
            if (!IsDotnet(self[0])) return Join(self.Take(1));
        }
        return "crawler";
    }

    private static bool IsDotnet(string program) => Path.GetFileName(program) is "dotnet" or "dotnet.exe";

    private static int IndexOf(IReadOnlyList<string> list, string value)
    {
        for (int i = 0; i < list.Count; i++)
        {
            if (list[i] == value) return i;
        }
        return -1;
    }

    /// <summary>The words joined as a POSIX shell would read them back (quoted where needed).</summary>
    private static string Join(IEnumerable<string> words) => string.Join(' ', words.Select(Quote));

    private static string Quote(string word) =>
        word.Length > 0 && word.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:+,@%".Contains(c)) ? word : "'" + word.Replace("'", "'\\''") + "'";

    private static string[]? ReadCommandLine(string process)
    {
        try
        {
            string text = File.ReadAllText($"/proc/{process}/cmdline", Encoding.UTF8);
            return text.Length == 0 ? null : text.TrimEnd('\0').Split('\0');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string[]? ParentCommandLine()
    {
        try
        {
            // /proc/self/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses.
            string stat = File.ReadAllText("/proc/self/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return fields.Length > 1 ? ReadCommandLine(fields[1]) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }
}
