// The baseline's crawl loop: the Task-based shape a .NET developer reaches for. N worker Tasks
// pull from a Channel (the frontier); each fetches with one shared HttpClient, parses HTML with
// the crawler's own LinkExtractor, and pushes the new links back. Everything shared between the
// workers is locked or concurrent, because they run on the thread pool.
//
// It follows examples/crawler's rules (Crawler.cs, Frontier.cs, HostPolicy.cs), so that both
// crawlers fetch the same URLs and write the same records:
//   - a URL is taken into the frontier once (by its normalized form), if it is on an allowed
//     host and at most --max-depth links from the start, and while fewer than --max-pages were
//     taken in (URLs robots.txt then disallows count too);
//   - robots.txt is fetched once per origin (the first worker fetches it, the others wait), up to
//     five redirects followed on allowed hosts; a disallowed URL is neither fetched nor recorded;
//   - at most --per-host fetches per origin at once (and as many connections);
//   - redirects are not followed by the client: the target goes back into the frontier at the
//     same depth, with the chain, and a target already in the chain is a "redirect loop";
//   - only HTML 2xx bodies are parsed; 4xx/5xx are "http N" errors;
//   - the crawl is done when the frontier is empty and no worker is busy.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Threading.Channels;
using Evergreen.Crawler;

namespace BaselineCrawler;

internal sealed class BaselineCrawl
{
    private sealed record Entry(Uri Url, int Depth, IReadOnlyList<Uri> RedirectChain);

    private readonly CrawlSettings _settings;
    private readonly HttpClient _client;
    private readonly Channel<Entry> _frontier = Channel.CreateUnbounded<Entry>();
    private readonly object _admitGate = new();
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private int _pending; // taken in and not yet done: back to 0 means the crawl is over
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
            AllowAutoRedirect = false, // as the crawler: redirects go through the frontier
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(15),
            ConnectTimeout = settings.Timeout < TimeSpan.FromSeconds(10) ? settings.Timeout : TimeSpan.FromSeconds(10),
            UseCookies = false,
            UseProxy = false,
        };
        _client = new HttpClient(handler)
        {
            Timeout = settings.Timeout,
            MaxResponseContentBufferSize = (int)Math.Min(int.MaxValue, settings.MaxBodyBytes),
        };
        _client.DefaultRequestHeaders.UserAgent.ParseAdd(settings.UserAgent);
        if (settings.Output is { } path) _output = new RecordWriter(path);
    }

    public async Task<CrawlResult> RunAsync()
    {
        try
        {
            TryAdd(new Entry(_settings.Start, 0, []));
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
            Percentile(times, 0.50), Percentile(times, 0.99), _seen.Count);
    }

    private async Task WorkerAsync()
    {
        await foreach (var entry in _frontier.Reader.ReadAllAsync())
        {
            try
            {
                await CrawlAsync(entry);
            }
            finally
            {
                if (Interlocked.Decrement(ref _pending) == 0) _frontier.Writer.TryComplete();
            }
        }
    }

    /// <summary>Frontier.TryAdd: seen, host scope, depth, page limit, in that order.</summary>
    private void TryAdd(Entry entry)
    {
        if (!_settings.IsInScope(entry.Url) || entry.Depth > _settings.MaxDepth) return;
        lock (_admitGate)
        {
            if (_seen.Contains(entry.Url.AbsoluteUri) || _seen.Count >= _settings.MaxPages) return;
            _seen.Add(entry.Url.AbsoluteUri);
            Interlocked.Increment(ref _pending);
        }
        _frontier.Writer.TryWrite(entry);
    }

    private async Task CrawlAsync(Entry page)
    {
        if (_settings.ObeyRobots && !(await RobotsFor(page.Url)).IsAllowed(page.Url.PathAndQuery)) return;

        var slot = Slot(page.Url);
        await slot.WaitAsync();
        long started = Stopwatch.GetTimestamp();
        CrawlRecord record;
        try
        {
            using var response = await _client.GetAsync(page.Url);
            var body = await response.Content.ReadAsByteArrayAsync();
            record = Follow(page, response, body, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (Exception e) when (Classify(e) is { } error)
        {
            record = new CrawlRecord { Url = page.Url.AbsoluteUri, Depth = page.Depth, Error = error, ElapsedMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds };
        }
        finally
        {
            slot.Release();
        }
        _fetchMs.Enqueue(record.ElapsedMs);
        Interlocked.Increment(ref _pages);
        if (record.Error is { } kind) _errors.AddOrUpdate(kind, 1, (_, n) => n + 1);
        _output?.Write(record);
    }

    /// <summary>Crawler.Follow: queues what the response leads to (its links, or its redirect's target) and describes it.</summary>
    private CrawlRecord Follow(Entry page, HttpResponseMessage response, byte[] body, double elapsedMs)
    {
        int status = (int)response.StatusCode;
        var record = new CrawlRecord
        {
            Url = page.Url.AbsoluteUri,
            FinalUrl = page.Url.AbsoluteUri,
            Status = status,
            Depth = page.Depth,
            ContentType = response.Content.Headers.ContentType?.MediaType?.ToLowerInvariant(),
            Bytes = body.Length,
            ElapsedMs = elapsedMs,
            Error = status >= 400 ? $"http {status}" : null,
        };
        if (IsRedirect(status))
        {
            var target = response.Headers.Location is { } location ? UrlNormalizer.Normalize(location.OriginalString, page.Url) : null;
            record.FinalUrl = target?.AbsoluteUri;
            if (target is not null) record.Error = QueueRedirect(page, target);
        }
        else if (status is >= 200 and < 300 && record.ContentType is "text/html" or "application/xhtml+xml")
        {
            var links = LinkExtractor.Extract(Decode(body, response.Content.Headers.ContentType?.CharSet), page.Url);
            record.Links = links.Count;
            foreach (var link in links) TryAdd(new Entry(link, page.Depth + 1, []));
        }
        return record;
    }

    private string? QueueRedirect(Entry page, Uri target)
    {
        var chain = new List<Uri>(page.RedirectChain.Count + 1);
        chain.AddRange(page.RedirectChain);
        chain.Add(page.Url);
        if (chain.Any(earlier => earlier.AbsoluteUri == target.AbsoluteUri)) return "redirect loop";
        if (chain.Count > _settings.MaxRedirects) return "too many redirects";
        TryAdd(new Entry(target, page.Depth, chain));
        return null;
    }

    private SemaphoreSlim Slot(Uri url) =>
        _hostSlots.GetOrAdd($"{url.Scheme}://{CrawlSettings.HostKey(url)}", _ => new SemaphoreSlim(_settings.PerHost));

    /// <summary>The robots.txt of the URL's origin, fetched by the first worker that needs it; the others wait for that fetch.</summary>
    private Task<RobotsTxt> RobotsFor(Uri url)
    {
        string origin = url.GetLeftPart(UriPartial.Authority);
        return _robots.GetOrAdd(origin, o => new Lazy<Task<RobotsTxt>>(() => FetchRobotsAsync(new Uri(o + "/robots.txt")))).Value;
    }

    /// <summary>Crawler.FetchRobotsAsync: 2xx parsed, up to 5 redirects on allowed hosts, 4xx allows all, 5xx or no answer disallows all.</summary>
    private async Task<RobotsTxt> FetchRobotsAsync(Uri robotsUrl)
    {
        var slot = Slot(robotsUrl);
        await slot.WaitAsync();
        try
        {
            var url = robotsUrl;
            for (int redirects = 0; redirects <= 5; redirects++)
            {
                try
                {
                    using var response = await _client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
                    int status = (int)response.StatusCode;
                    if (IsRedirect(status))
                    {
                        var next = response.Headers.Location is { } location ? UrlNormalizer.Normalize(location.OriginalString, url) : null;
                        if (next is null || !_settings.IsInScope(next)) return RobotsTxt.AllowAll;
                        url = next;
                        continue;
                    }
                    if (status is < 200 or >= 300) return RobotsTxt.ForStatus(status, null, _settings.UserAgent);
                    return RobotsTxt.Parse(await RobotsTxt.ReadBodyAsync(await response.Content.ReadAsStreamAsync()), _settings.UserAgent);
                }
                catch (Exception e) when (Classify(e) is not null)
                {
                    return RobotsTxt.DisallowAll; // unreachable: assume the worst (RFC 9309 §2.3.1.4)
                }
            }
            return RobotsTxt.AllowAll;
        }
        finally
        {
            slot.Release();
        }
    }

    private static bool IsRedirect(int status) => status is 301 or 302 or 303 or 307 or 308;

    /// <summary>The body as text: by its charset, UTF-8 when it has none or an unknown one (as HttpSessionResponse.Text).</summary>
    private static string Decode(byte[] body, string? charset)
    {
        var encoding = Encoding.UTF8;
        if (charset is not null)
        {
            try { encoding = Encoding.GetEncoding(charset.Trim('"')); }
            catch (ArgumentException) { }
        }
        return encoding.GetString(body);
    }

    /// <summary>
    /// examples/crawler's error vocabulary (CrawlErrors) for what HttpClient throws, as near as
    /// its exceptions tell; null for what is not a fetch failure (a bug), which propagates.
    /// </summary>
    private static string? Classify(Exception e) => e switch
    {
        TaskCanceledException => "timeout: total", // HttpClient.Timeout covers the whole call
        HttpRequestException { HttpRequestError: HttpRequestError.NameResolutionError } => "dns",
        HttpRequestException { HttpRequestError: HttpRequestError.SecureConnectionError } => "tls",
        HttpRequestException { HttpRequestError: HttpRequestError.ConfigurationLimitExceeded } => "too large",
        HttpRequestException { HttpRequestError: HttpRequestError.InvalidResponse } => "malformed",
        HttpRequestException { HttpRequestError: HttpRequestError.ResponseEnded } => "reset",
        HttpRequestException { InnerException: System.Net.Sockets.SocketException s } => SocketError(s),
        HttpRequestException { InnerException: IOException { InnerException: System.Net.Sockets.SocketException s } } => SocketError(s),
        HttpRequestException when e.Message.Contains("buffer", StringComparison.OrdinalIgnoreCase) => "too large",
        HttpRequestException or IOException => "io",
        _ => null,
    };

    private static string SocketError(System.Net.Sockets.SocketException s) => s.SocketErrorCode switch
    {
        System.Net.Sockets.SocketError.ConnectionRefused => "refused",
        System.Net.Sockets.SocketError.ConnectionReset or System.Net.Sockets.SocketError.ConnectionAborted or System.Net.Sockets.SocketError.Shutdown => "reset",
        System.Net.Sockets.SocketError.TimedOut => "timeout: connect",
        System.Net.Sockets.SocketError.NetworkUnreachable or System.Net.Sockets.SocketError.HostUnreachable or System.Net.Sockets.SocketError.NetworkDown or System.Net.Sockets.SocketError.HostDown => "unreachable",
        _ => "io",
    };

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
}

internal sealed record CrawlResult(int Pages, int Errors, Dictionary<string, int> ErrorsByKind, double P50Ms, double P99Ms, int Admitted);
