// robots.txt, RFC 9309 (the Robots Exclusion Protocol), the same in the Evergreen crawler and
// in the plain-.NET baseline of bench/crawl (which compiles this file as it is): BCL only,
// immutable once parsed, so one instance serves many threads.
//
// What the RFC leaves open and how it is decided here:
//   - a group's user-agent value is reduced to its product token (letters, '_', '-': "FooBot/2.1"
//     is "foobot") and compared with the crawler's, case-insensitively; groups naming the crawler
//     win over "*" groups, and several groups naming it are merged (§2.2.1);
//   - rules before any user-agent line, unknown keys (sitemap, crawl-delay) and paths that do not
//     start with '/' or '*' are ignored; an empty Disallow (or Allow) matches nothing;
//   - paths and patterns are compared after the same percent-encoding normalization (§2.2.2):
//     non-ASCII characters as UTF-8 %XX, %xx escapes in uppercase, escaped unreserved characters
//     (letters, digits, '-', '.', '_', '~') decoded. (The RFC's table also shows reserved
//     characters of a query encoded for comparison; that is not done: it would change what a
//     pattern means.)
//   - only the first 500 KiB are parsed (§2.5); a line cut there is dropped.

using System.Text;

namespace Evergreen.Crawler;

/// <summary>
/// A parsed robots.txt as it applies to one crawler (RFC 9309): the rules of the group that
/// names the crawler's product token, else of the <c>*</c> group; the longest matching rule wins,
/// Allow wins a tie, <c>*</c> matches any run of characters and a final <c>$</c> anchors the end;
/// <c>/robots.txt</c> itself is always allowed. Immutable and thread-safe.
/// </summary>
public sealed class RobotsTxt
{
    /// <summary>How much of a robots.txt is parsed (RFC 9309 §2.5: at least 500 KiB); the rest is ignored.</summary>
    public const int MaxBytes = 500 * 1024;

    private readonly Rule[] _rules;
    private readonly bool _disallowAll;

    private RobotsTxt(Rule[] rules, bool disallowAll)
    {
        _rules = rules;
        _disallowAll = disallowAll;
    }

    /// <summary>Everything allowed: no robots.txt (a 4xx answer, RFC 9309 §2.3.1.3), or robots ignored.</summary>
    public static RobotsTxt AllowAll { get; } = new([], disallowAll: false);

    /// <summary>
    /// Everything disallowed (but <c>/robots.txt</c>): the robots.txt was unreachable or answered
    /// 5xx, so the site's wishes are unknown and the crawler must assume the worst (§2.3.1.4).
    /// </summary>
    public static RobotsTxt DisallowAll { get; } = new([], disallowAll: true);

    /// <summary>How many rules apply to this crawler (the chosen group's allow and disallow lines).</summary>
    public int RuleCount => _rules.Length;

    /// <summary>
    /// The robots.txt for a fetch that ended with <paramref name="statusCode"/>: 2xx parses
    /// <paramref name="body"/>; 3xx (more redirects than the client follows) and 4xx mean
    /// unavailable, so <see cref="AllowAll"/>; 5xx means unreachable, so <see cref="DisallowAll"/>.
    /// For a fetch that failed without a status (refused, reset, timed out) use <see cref="DisallowAll"/>.
    /// </summary>
    public static RobotsTxt ForStatus(int statusCode, string? body, string userAgent) => statusCode switch
    {
        >= 200 and < 300 => Parse(body ?? "", userAgent),
        >= 300 and < 500 => AllowAll,
        _ => DisallowAll,
    };

    /// <summary>
    /// Reads a robots.txt body as UTF-8, stopping after <see cref="MaxBytes"/> bytes (RFC 9309
    /// §2.5 lets a crawler ignore the rest), or after <paramref name="limit"/> if that is less (a
    /// crawl's body limit), so a huge or endless body costs at most that.
    /// </summary>
    public static async Task<string> ReadBodyAsync(Stream body, long limit = MaxBytes)
    {
        int max = (int)Math.Min(MaxBytes, Math.Max(0, limit));
        var buffer = new byte[Math.Min(16 * 1024, max)];
        int length = 0;
        while (length < max)
        {
            if (length == buffer.Length) Array.Resize(ref buffer, Math.Min(max, buffer.Length * 2));
            int read = await body.ReadAsync(buffer.AsMemory(length));
            if (read == 0) break;
            length += read;
        }
        return Encoding.UTF8.GetString(buffer, 0, length);
    }

    /// <summary>
    /// Parses a robots.txt body for the crawler whose User-Agent is <paramref name="userAgent"/>
    /// (its product token is what groups are matched against: "EvergreenCrawler/1.0 (+url)" is
    /// "EvergreenCrawler"). Never throws on content: what does not parse is ignored.
    /// </summary>
    public static RobotsTxt Parse(string text, string userAgent)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(userAgent);
        text = Truncate(text);
        string ourToken = ProductToken(userAgent);

        var named = new List<Rule>();   // rules of the groups naming this crawler
        var star = new List<Rule>();    // rules of the "*" groups
        bool anyNamed = false;
        // The group being read: which of the two lists its rules go to. A user-agent line after
        // a rule line starts a new group; consecutive user-agent lines share one.
        bool groupNamesUs = false, groupIsStar = false, groupHasAgent = false, groupHasRules = false;

        foreach (var rawLine in text.Split('\n'))
        {
            var line = rawLine.AsSpan();
            int hash = line.IndexOf('#');
            if (hash >= 0) line = line[..hash];
            int colon = line.IndexOf(':');
            if (colon < 0) continue;
            var key = line[..colon].Trim();
            string value = line[(colon + 1)..].Trim().ToString();

            if (key.Equals("user-agent", StringComparison.OrdinalIgnoreCase))
            {
                if (groupHasRules)
                {
                    groupNamesUs = groupIsStar = groupHasRules = false;
                }
                groupHasAgent = true;
                if (value == "*") groupIsStar = true;
                else if (ourToken.Length > 0 && ProductToken(value).Equals(ourToken, StringComparison.OrdinalIgnoreCase))
                {
                    groupNamesUs = true;
                    anyNamed = true;
                }
            }
            else if (key.Equals("allow", StringComparison.OrdinalIgnoreCase) || key.Equals("disallow", StringComparison.OrdinalIgnoreCase))
            {
                if (!groupHasAgent) continue;
                groupHasRules = true;
                if (value.Length == 0 || (value[0] != '/' && value[0] != '*')) continue;
                var rule = new Rule(NormalizeEncoding(value), key.Length == 5);
                if (groupNamesUs) named.Add(rule);
                if (groupIsStar) star.Add(rule);
            }
        }
        var rules = anyNamed ? named : star;
        return rules.Count == 0 ? AllowAll : new RobotsTxt([.. rules], disallowAll: false);
    }

    /// <summary>
    /// Whether the crawler may fetch <paramref name="pathAndQuery"/> (the URL's path and query,
    /// as <see cref="Uri.PathAndQuery"/> gives them; empty means "/").
    /// </summary>
    public bool IsAllowed(string pathAndQuery)
    {
        ArgumentNullException.ThrowIfNull(pathAndQuery);
        string path = NormalizeEncoding(pathAndQuery.Length == 0 ? "/" : pathAndQuery);
        if (path == "/robots.txt") return true;
        if (_disallowAll) return false;
        int bestLength = -1;
        bool allowed = true;
        foreach (var rule in _rules)
        {
            int length = rule.Pattern.Length;
            if (length < bestLength || (length == bestLength && allowed)) continue;
            if (!Matches(path, rule.Pattern)) continue;
            bestLength = length;
            allowed = rule.Allow;
        }
        return allowed;
    }

    /// <summary>
    /// The product token of a User-Agent (RFC 9309 §2.2.1: letters, '_' and '-'): the leading run
    /// of such characters, "" if there is none.
    /// </summary>
    public static string ProductToken(string userAgent)
    {
        int n = 0;
        while (n < userAgent.Length && (char.IsAsciiLetter(userAgent[n]) || userAgent[n] is '_' or '-')) n++;
        return userAgent[..n];
    }

    /// <summary>
    /// Whether <paramref name="path"/> starts with what <paramref name="pattern"/> describes:
    /// '*' is any run of characters, a final '$' the end of the path. Tracks every position the
    /// pattern so far can end at (Google's robots.txt matcher does the same), so a pattern with
    /// many '*' costs O(pattern × path), never exponential backtracking.
    /// </summary>
    private static bool Matches(string path, string pattern)
    {
        Span<int> stack = path.Length < 256 ? stackalloc int[path.Length + 1] : new int[path.Length + 1];
        stack[0] = 0;
        int count = 1;
        for (int p = 0; p < pattern.Length; p++)
        {
            char c = pattern[p];
            if (c == '$' && p == pattern.Length - 1) return stack[count - 1] == path.Length;
            if (c == '*')
            {
                int from = stack[0];
                count = path.Length - from + 1;
                for (int i = 0; i < count; i++) stack[i] = from + i;
                continue;
            }
            int kept = 0;
            for (int i = 0; i < count; i++)
            {
                int at = stack[i];
                if (at < path.Length && path[at] == c) stack[kept++] = at + 1;
            }
            if (kept == 0) return false;
            count = kept;
        }
        return true;
    }

    /// <summary>
    /// The percent-encoding normal form both sides are compared in: non-ASCII as UTF-8 %XX, every
    /// %xx in uppercase hex, %XX of an unreserved character decoded. ASCII control characters and
    /// spaces are percent-encoded too, as they would be in a request line.
    /// </summary>
    internal static string NormalizeEncoding(string s)
    {
        bool plain = true;
        foreach (char c in s)
        {
            if (c == '%' || c <= ' ' || c >= 0x7F) { plain = false; break; }
        }
        if (plain) return s;

        var sb = new StringBuilder(s.Length + 16);
        Span<byte> utf8 = stackalloc byte[4];
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c == '%' && i + 2 < s.Length && IsHex(s[i + 1]) && IsHex(s[i + 2]))
            {
                int value = Convert.ToInt32(s.Substring(i + 1, 2), 16);
                if (char.IsAsciiLetterOrDigit((char)value) || value is '-' or '.' or '_' or '~') sb.Append((char)value);
                else sb.Append('%').Append(char.ToUpperInvariant(s[i + 1])).Append(char.ToUpperInvariant(s[i + 2]));
                i += 2;
            }
            else if (c <= ' ' || c >= 0x7F)
            {
                int n;
                if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
                {
                    n = new Rune(c, s[i + 1]).EncodeToUtf8(utf8);
                    i++;
                }
                else
                {
                    n = (Rune.TryCreate(c, out var rune) ? rune : Rune.ReplacementChar).EncodeToUtf8(utf8);
                }
                for (int b = 0; b < n; b++) sb.Append('%').Append(utf8[b].ToString("X2"));
            }
            else
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }

    private static bool IsHex(char c) => char.IsAsciiHexDigit(c);

    /// <summary>The first <see cref="MaxBytes"/> bytes (UTF-8) of the text, without the line cut there.</summary>
    private static string Truncate(string text)
    {
        if (text.Length > 0 && text[0] == '\uFEFF') text = text[1..];
        text = text.Replace("\r\n", "\n").Replace('\r', '\n');
        if (text.Length <= MaxBytes / 3 || Encoding.UTF8.GetByteCount(text) <= MaxBytes) return text;
        string head = Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(text), 0, MaxBytes);
        int lastNewline = head.LastIndexOf('\n');
        return lastNewline < 0 ? "" : head[..lastNewline];
    }

    private readonly record struct Rule(string Pattern, bool Allow);
}
