// The crawler: the original Evergreen's `TaskPoolExecutor(100).map(fetch, urls)`, grown up.
//
// N worker tasklets in a TaskGroup pull URLs from the frontier. Each one fetches with a plain,
// sequential-looking `await client.GetAsync(url)` and puts the page's links back into the
// frontier; while it waits for the network, the loop runs the other workers. One loop thread
// runs them all, so the frontier, the stats and the output need no locks. The one CPU-heavy
// step, parsing a page's HTML, is handed to the thread pool with `await Offload.RunAsync(...)`,
// so the loop keeps fetching while another core parses.
//
// Redirects are not followed by the client: a redirect's target goes back into the frontier like
// a link (at the same depth), so it is checked like one - allowed host, robots.txt, never
// fetched twice - and a redirect back into its own chain is recorded as a loop.

using System.Diagnostics;
using System.Text;
using Evergreen.IO.Http;
using Evergreen.Sync;

namespace Evergreen.Crawler;

/// <summary>
/// A polite web crawler on one Evergreen loop: <see cref="CrawlOptions.Concurrency"/> worker
/// tasklets, a shared <see cref="Frontier"/>, per-host politeness and robots.txt
/// (<see cref="HostPolicy"/>), one <see cref="CrawlRecord"/> per fetched URL. Loop thread only.
/// </summary>
public sealed class Crawler
{
    private readonly CrawlOptions _options;
    private readonly HttpSession _client;
    private readonly Frontier _frontier;
    private readonly HostPolicy _hosts;
    private readonly CrawlStats _stats = new();
    private readonly JsonlWriter? _output;
    private readonly List<CrawlRecord>? _records;
    private readonly Action<CrawlRecord>? _onRecord;
    private readonly int[] _doing = new int[Enum.GetValues<WorkerActivity>().Length];
    private TaskGroup? _workers;
    private bool _started;

    /// <summary>
    /// A crawler for <paramref name="options"/> (its <see cref="CrawlOptions.StartUrl"/> must be
    /// set), writing records to <paramref name="output"/> if given, keeping them in
    /// <see cref="Records"/> if <paramref name="keepRecords"/>, and telling <paramref name="onRecord"/> of each.
    /// </summary>
    public Crawler(CrawlOptions options, JsonlWriter? output = null, bool keepRecords = false, Action<CrawlRecord>? onRecord = null)
    {
        if (options.StartUrl is null) throw new ArgumentException("CrawlOptions.StartUrl must be set: it is where the crawl starts", nameof(options));
        _options = options;
        _output = output;
        _records = keepRecords ? [] : null;
        _onRecord = onRecord;
        _client = new HttpSession(new HttpSessionOptions
        {
            UserAgent = options.UserAgent,
            MaxConnectionsPerOrigin = options.EffectivePerHost,
            MaxRedirects = 0, // see the top of this file
            MaxBodyBytes = options.MaxBodyBytes,
            TotalTimeout = options.Timeout,
            FirstByteTimeout = options.Timeout,
            ConnectTimeout = options.Timeout < TimeSpan.FromSeconds(10) ? options.Timeout : TimeSpan.FromSeconds(10),
        });
        _frontier = new Frontier(options.MaxPages, options.MaxDepth, options.IsInScope);
        _hosts = new HostPolicy(options.EffectivePerHost, options.Delay, options.ObeyRobots ? FetchRobotsAsync : null);
    }

    /// <summary>The options it crawls with.</summary>
    public CrawlOptions Options => _options;

    /// <summary>The URLs queued and seen.</summary>
    public Frontier Frontier => _frontier;

    /// <summary>Per-host politeness and robots.txt.</summary>
    public HostPolicy Hosts => _hosts;

    /// <summary>Pages, errors, fetch times.</summary>
    public CrawlStats Stats => _stats;

    /// <summary>Every record so far, if the crawler was made to keep them (else empty).</summary>
    public IReadOnlyList<CrawlRecord> Records => (IReadOnlyList<CrawlRecord>?)_records ?? [];

    /// <summary>Requests on the wire right now (the workers <see cref="WorkerActivity.Fetching"/>).</summary>
    public int ActiveFetches => _doing[(int)WorkerActivity.Fetching];

    /// <summary>How many worker tasklets are doing <paramref name="activity"/> right now. Loop thread.</summary>
    public int WorkersDoing(WorkerActivity activity) => _doing[(int)activity];

    /// <summary>Whether <see cref="Cancel"/> stopped the crawl before the frontier was done.</summary>
    public bool WasCanceled { get; private set; }

    /// <summary>
    /// Crawls <paramref name="options"/>' start URL to the end (or until the tasklet running it
    /// is killed) and returns the crawler, with its <see cref="Records"/> and <see cref="Stats"/>.
    /// The simple entry for tests and bench/crawl. A yield point; call it from a tasklet.
    /// </summary>
    public static async Task<Crawler> RunAsync(CrawlOptions options, JsonlWriter? output = null)
    {
        var crawler = new Crawler(options, output, keepRecords: true);
        await crawler.RunAsync();
        return crawler;
    }

    /// <summary>
    /// Crawls from the start URL until the frontier is done or <see cref="Cancel"/> is called,
    /// then closes the client's connections. A yield point; call it once, from a tasklet. A kill
    /// of the calling tasklet kills the workers (their in-flight fetches are recorded as
    /// "cancelled") and propagates once they have ended.
    /// </summary>
    public async Task RunAsync()
    {
        if (_started) throw new InvalidOperationException("a Crawler runs once: make a new one for another crawl");
        _started = true;
        _frontier.TryAdd(_options.StartUrl!, depth: 0);
        _stats.Start();
        try
        {
            await using (var workers = _workers = new TaskGroup("crawl"))
            {
                for (int i = 0; i < _options.Concurrency; i++)
                {
                    workers.Spawn(WorkerAsync, $"worker {i}");
                }
            } // waits for every worker: the frontier is done, or Cancel killed them
        }
        finally
        {
            _workers = null;
            _stats.Stop();
            await _client.DisposeAsync();
        }
    }

    /// <summary>
    /// Stops the crawl (Ctrl-C): kills the workers, so fetches in flight end at once and are
    /// recorded as "cancelled"; queued URLs are not fetched. <see cref="RunAsync()"/> then
    /// returns. Called before <see cref="RunAsync()"/> (a Ctrl-C while the crawl is being set up),
    /// it makes that call fetch nothing and return at once. Either way <see cref="WasCanceled"/>
    /// is then true. Not a yield point; calling it again, or after the crawl ended, does nothing.
    /// </summary>
    public void Cancel()
    {
        if (_frontier.IsDone) return; // ended, or cancelled already
        WasCanceled = true;
        _frontier.Close();
        _workers?.CancelAll();
    }

    /// <summary>One worker: take a URL, crawl it, hand it back; until the frontier is done.</summary>
    private async Task WorkerAsync()
    {
        while (true)
        {
            FrontierEntry? page;
            using (Doing(WorkerActivity.WaitingForUrl)) page = await _frontier.NextAsync();
            if (page is null) return;
            try
            {
                await CrawlAsync(page);
            }
            finally
            {
                _frontier.Done(page);
            }
        }
    }

    /// <summary>Crawls one page: fetches it (if robots.txt allows), queues its links, records it.</summary>
    private async Task CrawlAsync(FrontierEntry page)
    {
        bool allowed;
        using (Doing(WorkerActivity.WaitingForRobots)) allowed = await _hosts.IsAllowedAsync(page.Url);
        if (!allowed) return; // robots.txt says no: never fetched
        var (record, html) = await FetchAsync(page);
        if (html is not null)
        {
            // AngleSharp builds a whole DOM, the crawl's heaviest CPU work: it runs on the thread
            // pool while this loop goes on fetching for the other workers.
            IReadOnlyList<Uri> links;
            try
            {
                using (Doing(WorkerActivity.Parsing)) links = await Offload.RunAsync(() => LinkExtractor.Extract(html, page.Url));
            }
            catch (TaskletExit)
            {
                Record(record); // fetched: it has its line, if not its links
                throw;
            }
            foreach (var link in links) _frontier.TryAdd(link, page.Depth + 1);
            record = record with { Links = links.Count };
        }
        Record(record);
    }

    /// <summary>
    /// The fetch itself, in one of the host's slots: the page's record, and its HTML when it is a
    /// page to parse (2xx text/html). A fetch killed by <see cref="Cancel"/> is recorded as such.
    /// </summary>
    private async Task<(CrawlRecord Record, string? Html)> FetchAsync(FrontierEntry page)
    {
        AsyncReleaser slot;
        using (Doing(WorkerActivity.WaitingForHostSlot)) slot = await _hosts.EnterAsync(page.Url); // this origin's share, after its delay
        using (slot)
        using (Doing(WorkerActivity.Fetching))
        {
            long started = Stopwatch.GetTimestamp();
            try
            {
                await using var response = await _client.GetAsync(page.Url);
                var record = Describe(page, response, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                return (record, response.IsSuccess && IsHtml(response.ContentType) ? response.Text : null);
            }
            catch (TaskletExit)
            {
                Record(Failed(page, CrawlErrors.Canceled, started));
                throw;
            }
            catch (Exception e) when (CrawlErrors.Classify(e) is { } error)
            {
                return (Failed(page, error, started), null);
            }
        }
    }

    /// <summary>The record of a response (links still 0); a redirect's target is queued here.</summary>
    private CrawlRecord Describe(FrontierEntry page, HttpSessionResponse response, double elapsedMs)
    {
        int status = response.StatusCode;
        string? error = status >= 400 ? CrawlErrors.Http(status) : null;
        string? finalUrl = response.Url.AbsoluteUri;
        if (IsRedirect(status))
        {
            var target = response.Headers.Get("Location") is { } location ? UrlNormalizer.Normalize(location, page.Url) : null;
            finalUrl = target?.AbsoluteUri;
            if (target is not null) error = QueueRedirect(page, target);
        }
        return new CrawlRecord(page.Url.AbsoluteUri, finalUrl, status, page.Depth, response.ContentType,
            response.Body.Length, Links: 0, elapsedMs, error);
    }

    /// <summary>Queues a redirect's target as the next link of the chain; the error if the chain loops or is too long.</summary>
    private string? QueueRedirect(FrontierEntry page, Uri target)
    {
        var chain = new List<Uri>(page.RedirectChain.Count + 1);
        chain.AddRange(page.RedirectChain);
        chain.Add(page.Url);
        foreach (var earlier in chain)
        {
            if (earlier.AbsoluteUri == target.AbsoluteUri) return CrawlErrors.RedirectLoop;
        }
        if (chain.Count > _options.MaxRedirects) return CrawlErrors.TooManyRedirects;
        _frontier.TryAdd(new FrontierEntry(target, page.Depth, chain));
        return null;
    }

    /// <summary>Counts a worker as doing <paramref name="activity"/> until the result is disposed (a struct: nothing allocated).</summary>
    private ActivityScope Doing(WorkerActivity activity)
    {
        _doing[(int)activity]++;
        return new ActivityScope(_doing, activity);
    }

    private readonly struct ActivityScope(int[] counts, WorkerActivity activity) : IDisposable
    {
        public void Dispose() => counts[(int)activity]--;
    }

    private CrawlRecord Failed(FrontierEntry page, string error, long started) =>
        new(page.Url.AbsoluteUri, null, null, page.Depth, null, 0, 0, Stopwatch.GetElapsedTime(started).TotalMilliseconds, error);

    private void Record(CrawlRecord record)
    {
        _stats.Add(record);
        _records?.Add(record);
        _output?.Write(record);
        _onRecord?.Invoke(record);
    }

    /// <summary>
    /// An origin's robots.txt (RFC 9309 §2.3.1): 2xx parsed (its first 500 KiB, however large it
    /// is: the rest is not read), up to five redirects followed on the allowed origins (one
    /// elsewhere, or more, counts as unavailable), 4xx allows all, 5xx or no answer disallows all.
    /// Not a page: no record.
    /// </summary>
    private async Task<RobotsTxt> FetchRobotsAsync(Uri robotsUrl)
    {
        using var slot = await _hosts.EnterAsync(robotsUrl);
        var url = robotsUrl;
        for (int redirects = 0; redirects <= 5; redirects++)
        {
            try
            {
                await using var response = await _client.SendAsync("GET", url, streamBody: true);
                if (IsRedirect(response.StatusCode))
                {
                    var next = response.Headers.Get("Location") is { } location ? UrlNormalizer.Normalize(location, url) : null;
                    if (next is null || !_options.IsInScope(next)) return RobotsTxt.AllowAll;
                    url = next;
                    continue;
                }
                if (!response.IsSuccess) return RobotsTxt.ForStatus(response.StatusCode, null, _options.UserAgent);
                return RobotsTxt.Parse(await RobotsTxt.ReadBodyAsync(response.BodyStream, _options.MaxBodyBytes), _options.UserAgent);
            }
            catch (Exception e) when (CrawlErrors.Classify(e) is not null)
            {
                return RobotsTxt.DisallowAll; // unreachable: assume the worst (RFC 9309 §2.3.1.4)
            }
        }
        return RobotsTxt.AllowAll;
    }

    private static bool IsRedirect(int status) => status is 301 or 302 or 303 or 307 or 308;

    private static bool IsHtml(string? contentType) => contentType is "text/html" or "application/xhtml+xml";
}
