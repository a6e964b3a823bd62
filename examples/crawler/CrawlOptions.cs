namespace Evergreen.Crawler;

/// <summary>
/// What to crawl and how politely: the command line's options, also set directly by tests and
/// by bench/crawl. <see cref="Parse"/> reads a command line into one.
/// </summary>
public sealed class CrawlOptions
{
    /// <summary>The User-Agent sent by default; its product token is what robots.txt groups are matched against.</summary>
    public const string DefaultUserAgent = "EvergreenCrawler/1.0 (+https://github.com/evergreen-dotnet)";

    /// <summary>Where the crawl starts; null runs the built-in demo site.</summary>
    public Uri? StartUrl { get; set; }

    /// <summary>How many worker tasklets fetch at once (<c>--concurrency</c>).</summary>
    public int Concurrency { get; set; } = 64;

    /// <summary>
    /// How many fetches one origin (scheme, host, port) gets at once (<c>--per-host</c>); null is 8, or
    /// <see cref="Concurrency"/> for the demo site, which is ours to hammer.
    /// </summary>
    public int? PerHost { get; set; }

    /// <summary>Links are followed this many levels from the start URL (<c>--max-depth</c>; the start is depth 0).</summary>
    public int MaxDepth { get; set; } = 10;

    /// <summary>
    /// At most this many URLs are taken into the frontier (<c>--max-pages</c>); after that, new
    /// links are dropped, so memory stays bounded on a link trap. URLs robots.txt disallows count too.
    /// </summary>
    public int MaxPages { get; set; } = 10_000;

    /// <summary>
    /// Origins crawled besides the start URL's (<c>--allow-host</c>, see <see cref="OriginPattern"/>);
    /// empty means the start URL's origin (scheme, host and port) only.
    /// </summary>
    public List<OriginPattern> AllowHosts { get; } = [];

    /// <summary>The least time between the starts of two requests to one origin (<c>--delay</c>); zero means none.</summary>
    public TimeSpan Delay { get; set; } = TimeSpan.Zero;

    /// <summary>The longest one fetch may take, connect to last byte (<c>--timeout</c>).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>The User-Agent header (<c>--user-agent</c>).</summary>
    public string UserAgent { get; set; } = DefaultUserAgent;

    /// <summary>Whether robots.txt is fetched and obeyed (<c>--no-robots</c> turns it off).</summary>
    public bool ObeyRobots { get; set; } = true;

    /// <summary>Where the JSONL records go (<c>--output</c>); null writes none.</summary>
    public string? OutputPath { get; set; }

    /// <summary>How many content pages the demo site has (<c>--demo-pages</c>).</summary>
    public int DemoPages { get; set; } = 3000;

    /// <summary>A page body past this many bytes (decoded) is dropped and recorded as "too large".</summary>
    public long MaxBodyBytes { get; set; } = 8 << 20;

    /// <summary>How many redirects in a row are followed from one link before "too many redirects".</summary>
    public int MaxRedirects { get; set; } = 10;

    /// <summary>Hidden option of bench/crawl and the nginx test: write the demo site's static files here and exit.</summary>
    public string? WriteStaticSite { get; set; }

    /// <summary>Whether the crawl is of the built-in demo site (set when it is started), which changes the <see cref="PerHost"/> default.</summary>
    public bool IsDemo { get; set; }

    /// <summary>The per-host bound in force: <see cref="PerHost"/>, or its default.</summary>
    public int EffectivePerHost => PerHost ?? (IsDemo ? Concurrency : Math.Min(8, Concurrency));

    /// <summary>
    /// Whether <paramref name="url"/> is in the crawl: its origin (scheme, host and port, RFC 6454)
    /// is the start URL's, or one of <see cref="AllowHosts"/> admits it. False before
    /// <see cref="StartUrl"/> is set.
    /// </summary>
    public bool IsInScope(Uri url)
    {
        if (StartUrl is not { } start) return false;
        if (url.Port == start.Port && string.Equals(url.Scheme, start.Scheme, StringComparison.OrdinalIgnoreCase)
            && string.Equals(url.Host, start.Host, StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }
        foreach (var allowed in AllowHosts)
        {
            if (allowed.Admits(url, start)) return true;
        }
        return false;
    }

    /// <summary>The command line's help text.</summary>
    public const string Usage = """
        usage: crawler [URL] [options]

        Crawls URL (http or https), or with no URL a built-in demo site served in the same process.

          --concurrency N     worker tasklets fetching at once (default 64)
          --per-host N        fetches at once per origin (default 8; the demo site: --concurrency)
          --max-depth N       follow links N levels from the start URL (default 10)
          --max-pages N       take at most N URLs into the frontier (default 10000)
          --allow-host ORIGIN also crawl ORIGIN; repeatable. By default only the start
                              URL's origin (scheme, host and port) is crawled.
                                https://cdn.example.org       that host over https, any port
                                https://cdn.example.org:8443  that origin only
                                cdn.example.org[:PORT]        over the start URL's scheme only
          --delay SECONDS     least time between two requests to one origin (default 0)
          --timeout SECONDS   longest time for one fetch, connect to last byte (default 15)
          --user-agent UA     the User-Agent header (default EvergreenCrawler/1.0 (+...))
          --no-robots         do not fetch or obey robots.txt
          --output FILE       write one JSON object per fetched URL to FILE (JSONL)
          --demo-pages N      content pages in the demo site (default 3000; a full crawl
                              fetches more URLs: sections, redirects, errors, files, traps)
          --help              this text

        Ctrl-C stops the crawl: fetches in flight are cancelled, the output file is complete.
        """;

    /// <summary>
    /// Reads a command line. Returns the options, or null with <paramref name="error"/> saying
    /// what was wrong (exit code 2) or, for <c>--help</c>, null with a null error.
    /// </summary>
    public static CrawlOptions? Parse(IReadOnlyList<string> args, out string? error)
    {
        var options = new CrawlOptions();
        error = null;
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            string? inlineValue = null;
            if (arg.StartsWith("--") && arg.IndexOf('=') is var eq and > 2)
            {
                inlineValue = arg[(eq + 1)..];
                arg = arg[..eq];
            }
            string Value()
            {
                if (inlineValue is not null) return inlineValue;
                if (i + 1 >= args.Count) throw new OptionException($"{arg} needs a value");
                return args[++i];
            }
            try
            {
                switch (arg)
                {
                    case "-h" or "--help":
                        return null;
                    case "--concurrency": options.Concurrency = Int(arg, Value(), 1, 10_000); break;
                    case "--per-host": options.PerHost = Int(arg, Value(), 1, 10_000); break;
                    case "--max-depth": options.MaxDepth = Int(arg, Value(), 0, 1_000_000); break;
                    case "--max-pages": options.MaxPages = Int(arg, Value(), 1, 100_000_000); break;
                    case "--demo-pages": options.DemoPages = Int(arg, Value(), 10, 1_000_000); break;
                    case "--allow-host": options.AllowHosts.Add(Origin(arg, Value())); break;
                    case "--delay": options.Delay = Seconds(arg, Value(), allowZero: true); break;
                    case "--timeout": options.Timeout = Seconds(arg, Value(), allowZero: false); break;
                    case "--user-agent":
                        options.UserAgent = Value();
                        if (options.UserAgent.Length == 0 || options.UserAgent.Any(c => c < ' ' || c == 0x7F))
                        {
                            throw new OptionException("--user-agent must be non-empty printable text");
                        }
                        break;
                    case "--no-robots": NoValue(arg, inlineValue); options.ObeyRobots = false; break;
                    case "--output": options.OutputPath = Value(); break;
                    case "--write-static-site": options.WriteStaticSite = Value(); break;
                    default:
                        if (arg.StartsWith('-')) throw new OptionException($"unknown option {arg}");
                        if (options.StartUrl is not null) throw new OptionException($"one start URL only, not also '{arg}'");
                        options.StartUrl = ParseStartUrl(arg);
                        break;
                }
            }
            catch (OptionException e)
            {
                error = e.Message;
                return null;
            }
        }
        return options;
    }

    private static int Int(string option, string text, int min, int max)
    {
        if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int value) || value < min || value > max)
        {
            throw new OptionException($"{option} takes a whole number from {min} to {max}, not '{text}'");
        }
        return value;
    }

    private static TimeSpan Seconds(string option, string text, bool allowZero)
    {
        if (!double.TryParse(text, System.Globalization.NumberStyles.AllowDecimalPoint, System.Globalization.CultureInfo.InvariantCulture, out double value)
            || value > 86_400 || (!allowZero && value == 0))
        {
            throw new OptionException($"{option} takes seconds ({(allowZero ? "0" : "more than 0")} to 86400, e.g. 0.5), not '{text}'");
        }
        return TimeSpan.FromSeconds(value);
    }

    private static OriginPattern Origin(string option, string text) => OriginPattern.TryParse(text)
        ?? throw new OptionException($"{option} takes [http:// or https://]HOST[:PORT], such as https://cdn.example.org or 127.0.0.1:8080, not '{text}'");

    private static Uri ParseStartUrl(string text)
    {
        // "example.com" and "localhost:8080" mean http://..., as in a browser; "mailto:x" is a scheme.
        bool hasScheme = System.Text.RegularExpressions.Regex.IsMatch(text, "^[A-Za-z][A-Za-z0-9+.-]*:(?![0-9])");
        string withScheme = hasScheme ? text : "http://" + text;
        if (!withScheme.StartsWith("http://", StringComparison.OrdinalIgnoreCase) && !withScheme.StartsWith("https://", StringComparison.OrdinalIgnoreCase)
            || UrlNormalizer.Normalize(withScheme, new Uri("http://localhost/")) is not { } url)
        {
            throw new OptionException($"the start URL must be an http or https URL, not '{text}'");
        }
        return url;
    }

    private static void NoValue(string option, string? inlineValue)
    {
        if (inlineValue is not null) throw new OptionException($"{option} takes no value");
    }

    private sealed class OptionException(string message) : Exception(message);
}
