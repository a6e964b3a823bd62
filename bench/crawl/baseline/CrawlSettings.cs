using System.Globalization;
using Evergreen.Crawler;

namespace BaselineCrawler;

/// <summary>The baseline's options: the subset of examples/crawler's that bench/crawl/run uses, with the same names and defaults.</summary>
internal sealed class CrawlSettings
{
    public const string Usage = """
        usage: baseline-crawler URL [options]
          --concurrency N     worker Tasks (default 64)
          --per-host N        connections and requests in flight per host (default 6)
          --max-depth N       links followed from the start page, at most N deep (default: no limit)
          --max-pages N       URLs admitted to the frontier, at most (default 100000)
          --allow-host H[:P]  hosts crawled (repeatable; default: the start URL's host and port)
          --timeout SEC       per request, redirects and body included (default 30)
          --user-agent UA     (default "EvergreenBaseline/1.0")
          --no-robots         do not fetch or obey robots.txt
          --output FILE       one JSON object per fetched URL (JSONL)
        """;

    public Uri Start { get; private set; } = null!;
    public int Concurrency { get; private set; } = 64;
    public int PerHost { get; private set; } = 6;
    public int MaxDepth { get; private set; } = int.MaxValue;
    public int MaxPages { get; private set; } = 100_000;
    public HashSet<string> AllowedHosts { get; } = new(StringComparer.OrdinalIgnoreCase);
    public TimeSpan Timeout { get; private set; } = TimeSpan.FromSeconds(30);
    public string UserAgent { get; private set; } = "EvergreenBaseline/1.0";
    public bool ObeyRobots { get; private set; } = true;
    public string? Output { get; private set; }
    public bool Help { get; private set; }

    /// <summary>"host:port" as the allow list holds it (the port always written).</summary>
    public static string HostKey(Uri url) => $"{url.IdnHost}:{url.Port}";

    public static CrawlSettings Parse(string[] args)
    {
        var s = new CrawlSettings();
        string? start = null;
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{arg} needs a value");
            int Positive() => int.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0
                ? n : throw new ArgumentException($"{arg} needs a positive whole number, got '{args[i]}'");
            switch (arg)
            {
                case "--concurrency": s.Concurrency = Positive(); break;
                case "--per-host": s.PerHost = Positive(); break;
                case "--max-depth":
                    s.MaxDepth = int.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out int d)
                        ? d : throw new ArgumentException($"--max-depth needs a whole number, got '{args[i]}'");
                    break;
                case "--max-pages": s.MaxPages = Positive(); break;
                case "--allow-host": s.AllowedHosts.Add(WithPort(Value())); break;
                case "--timeout":
                    s.Timeout = double.TryParse(Value(), NumberStyles.Float, CultureInfo.InvariantCulture, out double sec) && sec > 0
                        ? TimeSpan.FromSeconds(sec) : throw new ArgumentException($"--timeout needs seconds, got '{args[i]}'");
                    break;
                case "--user-agent": s.UserAgent = Value(); break;
                case "--no-robots": s.ObeyRobots = false; break;
                case "--output": s.Output = Value(); break;
                case "-h" or "--help": s.Help = true; return s;
                default:
                    if (arg.StartsWith('-') || start is not null) throw new ArgumentException($"unknown argument '{arg}'");
                    start = arg;
                    break;
            }
        }
        if (start is null) throw new ArgumentException("the start URL is missing");
        s.Start = Uri.TryCreate(start, UriKind.Absolute, out var absolute) && UrlNormalizer.Normalize(start, absolute) is { } url
            ? url : throw new ArgumentException($"'{start}' is not an absolute http(s) URL");
        if (s.AllowedHosts.Count == 0) s.AllowedHosts.Add(HostKey(s.Start));
        return s;
    }

    /// <summary>"example.com" means port 80, like a URL without a port.</summary>
    private static string WithPort(string host) => host.Contains(':') ? host : host + ":80";
}
