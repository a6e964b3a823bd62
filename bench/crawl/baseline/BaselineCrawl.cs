// The baseline's crawl loop: the Task-based shape a .NET developer reaches for. N worker Tasks
// pull from a Channel (the frontier); each fetches with one shared HttpClient, parses HTML with
// the crawler's own LinkExtractor, and pushes the new links back. Everything shared between the
// workers is locked or concurrent, because they run on the thread pool.
//
// It follows examples/crawler's rules, so that both crawlers fetch the same set of URLs:
//   - URLs are de-duplicated by their normalized form (UrlNormalizer), and only URLs on the allowed
//     hosts, at most --max-depth links from the start page, are admitted;
//   - once --max-pages URLs were admitted, nothing more is;
//   - robots.txt is fetched once per origin (concurrent first requests wait for it) and
//     interpreted by the crawler's RobotsTxt; a disallowed URL is not fetched and not recorded;
//   - only text/html bodies are parsed;
//   - the crawl is done when the frontier is empty and no worker is busy.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Threading.Channels;
using Evergreen.Crawler;

namespace BaselineCrawler;

internal sealed class BaselineCrawl
{
    /// <summary>As examples/crawler (HttpSessionOptions.MaxBodyBytes): bodies past this are an error.</summary>
    private const int MaxBodyBytes = 16 * 1024 * 1024;

    private readonly CrawlSettings _settings;
    private readonly HttpClient _client;
    private readonly Channel<(Uri Url, int Depth)> _frontier = Channel.CreateUnbounded<(Uri, int)>();
    private readonly object _admitGate = new();
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private int _admitted;
    private int _pending; // admitted and not yet done: 0 means the crawl is over
    private readonly ConcurrentDictionary<string, Lazy<Task<RobotsTxt>>> _robots = new();
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _hostSlots = new();
    private readonly RecordWriter? _output;
    private readonly ConcurrentQueue<double> _fetchMs = new();
    private readonly ConcurrentDictionary<string, int> _errors = new();
    private int _pages;

    public BaselineCrawl(CrawlSettings settings)
    {
        _settings = settings;
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = settings.PerHost,
            AutomaticDecompression = DecompressionMethods.GZip | DecompressionMethods.Deflate | DecompressionMethods.Brotli,
            AllowAutoRedirect = true,
            MaxAutomaticRedirections = 10,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(15),
            ConnectTimeout = TimeSpan.FromSeconds(10),
            UseCookies = false,
            UseProxy = false,
        };
        _client = new HttpClient(handler)
        {
            Timeout = settings.Timeout,
            MaxResponseContentBufferSize = MaxBodyBytes,
        };
        _client.DefaultRequestHeaders.UserAgent.ParseAdd(settings.UserAgent);
        if (settings.Output is { } path) _output = new RecordWriter(path);
    }

    public async Task<CrawlResult> RunAsync()
    {
        try
        {
            Admit(_settings.Start, 0);
            var workers = new Task[_settings.Concurrency];
            for (int i = 0; i < workers.Length; i++) workers[i] = Task.Run(WorkerAsync);
            await Task.WhenAll(workers);
        }
        finally
        {
            _output?.Dispose();
            _client.Dispose();
        }
        var times = _fetchMs.ToArray();
        Array.Sort(times);
        return new CrawlResult(_pages, _errors.Values.Sum(), new Dictionary<string, int>(_errors),
            Percentile(times, 0.50), Percentile(times, 0.99), _admitted);
    }

    private async Task WorkerAsync()
    {
        await foreach (var (url, depth) in _frontier.Reader.ReadAllAsync())
        {
            try
            {
                await VisitAsync(url, depth);
            }
            finally
            {
                if (Interlocked.Decrement(ref _pending) == 0) _frontier.Writer.TryComplete();
            }
        }
    }

    private void Admit(Uri url, int depth)
    {
        if (depth > _settings.MaxDepth || !_settings.AllowedHosts.Contains(CrawlSettings.HostKey(url))) return;
        lock (_admitGate)
        {
            if (_admitted >= _settings.MaxPages || !_seen.Add(url.AbsoluteUri)) return;
            _admitted++;
            Interlocked.Increment(ref _pending);
        }
        _frontier.Writer.TryWrite((url, depth));
    }

    private async Task VisitAsync(Uri url, int depth)
    {
        if (_settings.ObeyRobots && !(await RobotsFor(url)).IsAllowed(url.PathAndQuery)) return;

        var slot = _hostSlots.GetOrAdd(CrawlSettings.HostKey(url), _ => new SemaphoreSlim(_settings.PerHost));
        await slot.WaitAsync();
        var record = new CrawlRecord { Url = url.AbsoluteUri, Depth = depth };
        IReadOnlyList<Uri> links = [];
        var clock = Stopwatch.StartNew();
        try
        {
            using var response = await _client.GetAsync(url);
            var body = await response.Content.ReadAsByteArrayAsync();
            var finalUrl = response.RequestMessage?.RequestUri ?? url;
            record.FinalUrl = finalUrl.AbsoluteUri;
            record.Status = (int)response.StatusCode;
            record.ContentType = response.Content.Headers.ContentType?.MediaType?.ToLowerInvariant();
            record.Bytes = body.Length;
            if (!response.IsSuccessStatusCode) record.Error = $"http {record.Status}";
            else if (record.ContentType == "text/html")
            {
                links = LinkExtractor.Extract(Decode(body, response.Content.Headers.ContentType?.CharSet), finalUrl);
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            record.Error = ErrorKind(e);
        }
        finally
        {
            slot.Release();
        }
        record.ElapsedMs = clock.Elapsed.TotalMilliseconds;
        record.Links = links.Count;
        _fetchMs.Enqueue(record.ElapsedMs);
        Interlocked.Increment(ref _pages);
        if (record.Error is { } error) _errors.AddOrUpdate(error, 1, (_, n) => n + 1);
        _output?.Write(record);
        foreach (var link in links) Admit(link, depth + 1);
    }

    /// <summary>The robots.txt of the URL's origin, fetched by the first worker that needs it; the others wait for that fetch.</summary>
    private Task<RobotsTxt> RobotsFor(Uri url)
    {
        string origin = url.GetLeftPart(UriPartial.Authority);
        return _robots.GetOrAdd(origin, o => new Lazy<Task<RobotsTxt>>(() => FetchRobotsAsync(new Uri(o + "/robots.txt")))).Value;
    }

    private async Task<RobotsTxt> FetchRobotsAsync(Uri robotsUrl)
    {
        try
        {
            using var response = await _client.GetAsync(robotsUrl);
            string body = await response.Content.ReadAsStringAsync();
            return RobotsTxt.ForStatus((int)response.StatusCode, body, _settings.UserAgent);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            return RobotsTxt.DisallowAll; // unreachable (RFC 9309 §2.3.1.4)
        }
    }

    private static string Decode(byte[] body, string? charset)
    {
        var encoding = System.Text.Encoding.UTF8;
        if (charset is not null)
        {
            try { encoding = System.Text.Encoding.GetEncoding(charset.Trim('"')); }
            catch (ArgumentException) { }
        }
        return encoding.GetString(body);
    }

    /// <summary>The short error reasons of examples/crawler's records, for the failures HttpClient reports.</summary>
    private static string ErrorKind(Exception e) => e switch
    {
        TaskCanceledException => "timeout",
        HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError } => "connect",
        HttpRequestException { InnerException: IOException { InnerException: System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.ConnectionReset } } } => "reset",
        HttpRequestException { HttpRequestError: HttpRequestError.InvalidResponse or HttpRequestError.ResponseEnded } => "malformed",
        HttpRequestException { HttpRequestError: HttpRequestError.ConfigurationLimitExceeded } => "too large",
        HttpRequestException when e.Message.Contains("buffer", StringComparison.OrdinalIgnoreCase) => "too large",
        _ => "io",
    };

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
}

internal sealed record CrawlResult(int Pages, int Errors, Dictionary<string, int> ErrorsByKind, double P50Ms, double P99Ms, int Admitted);
