using System.Globalization;
using Evergreen.Crawler;

namespace BaselineCrawler;

/// <summary>The baseline's options: the subset of examples/crawler's (CrawlOptions) that bench/crawl/run uses, with the same names, defaults and meaning.</summary>
internal sealed class CrawlSettings
{
    public const string Usage = """
        usage: baseline-crawler URL [options]
          --concurrency N     worker Tasks (default 64)
          --per-host N        connections and requests in flight per host:port (default 8)
          --max-depth N       follow links N levels from the start URL (default 10)
          --max-pages N       take at most N URLs into the frontier (default 10000)
          --allow-host ORIGIN also crawl [http:// or https://]HOST[:PORT] (no scheme: the start
                              URL's; no port: any); repeatable (default: the start URL's origin only)
          --timeout SEC       longest time for one fetch, connect to last byte (default 15)
          --user-agent UA     (default: the Evergreen crawler's)
          --no-robots         do not fetch or obey robots.txt
          --output FILE       one JSON object per fetched URL (JSONL)
        """;

    public Uri Start { get; private set; } = null!;
    public int Concurrency { get; private set; } = 64;
    public int PerHost { get; private set; } = 8;
    public int MaxDepth { get; private set; } = 10;
    public int MaxPages { get; private set; } = 10_000;
    public List<OriginPattern> AllowHosts { get; } = [];
    public TimeSpan Timeout { get; private set; } = TimeSpan.FromSeconds(15);
    public string UserAgent { get; private set; } = "EvergreenCrawler/1.0 (+https://github.com/evergreen-dotnet)";
    /// <summary>As examples/crawler (CrawlOptions.MaxBodyBytes): a body past this is "too large".</summary>
    public long MaxBodyBytes { get; } = 8 << 20;
    /// <summary>As examples/crawler: redirects in a row followed from one link.</summary>
    public int MaxRedirects { get; } = 10;
    public bool ObeyRobots { get; private set; } = true;
    public string? Output { get; private set; }
    public bool Help { get; private set; }

    /// <summary>"host:port", the per-host key.</summary>
    public static string HostKey(Uri url) => $"{url.Host}:{url.Port}";

    /// <summary>As CrawlOptions.IsInScope: the start URL's origin (scheme, host, port), or one an --allow-host pattern admits.</summary>
    public bool IsInScope(Uri url)
    {
        if (url.Port == Start.Port && string.Equals(url.Scheme, Start.Scheme, StringComparison.OrdinalIgnoreCase)
            && string.Equals(url.Host, Start.Host, StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }
        foreach (var allowed in AllowHosts)
        {
            if (allowed.Admits(url, Start)) return true;
        }
        return false;
    }

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
                case "--allow-host":
                    s.AllowHosts.Add(OriginPattern.TryParse(Value()) ?? throw new ArgumentException($"--allow-host takes [http:// or https://]HOST[:PORT], got '{args[i]}'"));
                    break;
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
        return s;
    }
}
