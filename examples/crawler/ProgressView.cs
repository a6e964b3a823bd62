// The progress display. On a terminal it is a Spectre.Console live view; Spectre's live display
// blocks the thread that runs it (it redraws in a loop), so it gets a thread of its own. That
// thread never touches the crawl's objects, which belong to the loop thread: a sampler tasklet
// on the loop copies the numbers into an immutable snapshot every 100 ms and publishes it with a
// volatile write; the display thread only reads the latest snapshot. When stdout is not a
// terminal (a pipe, a file, CI), the sampler prints a plain line every 2 s instead, and there is
// no thread.

using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Evergreen.Crawler;

/// <summary>
/// Shows a crawl's progress while it runs: URLs fetched and per second, errors, URLs robots.txt
/// disallowed, the queue, what the worker tasklets are doing, the latest pages. Start it on the
/// loop; dispose it (on the loop) when the crawl ends.
/// </summary>
public sealed class ProgressView : IAsyncDisposable
{
    private static readonly TimeSpan LiveInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan PlainInterval = TimeSpan.FromSeconds(2);

    private readonly Crawler _crawler;
    private readonly string _title;
    private readonly TextWriter _plain;
    private readonly Queue<CrawlRecord> _latest = new();
    private readonly Tasklet _sampler;
    private readonly ManualResetEventSlim _stop = new();
    private readonly TaskCompletionSource _displayEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Snapshot _snapshot; // written by the loop thread, read by the display thread
    private string? _stopping;
    private bool _disposed;

    private ProgressView(Crawler crawler, string title, bool live, TextWriter plain)
    {
        _crawler = crawler;
        _title = title;
        _plain = plain;
        _snapshot = Take(crawler, _latest, null);
        IsLive = live;
        if (live)
        {
            var display = new Thread(RunDisplay) { IsBackground = true, Name = "crawler progress view" };
            display.Start();
        }
        _sampler = Tasklet.Spawn(SampleAsync, "progress sampler");
    }

    /// <summary>Whether it is the live terminal view (else plain lines).</summary>
    public bool IsLive { get; }

    /// <summary>
    /// Starts showing <paramref name="crawler"/>'s progress: live if <paramref name="live"/> (stdout
    /// is a terminal), else a line on <paramref name="plain"/> every 2 s. Call it on the loop.
    /// </summary>
    public static ProgressView Start(Crawler crawler, string title, bool live, TextWriter plain) => new(crawler, title, live, plain);

    /// <summary>
    /// The line printed above the view when a crawl starts: the start URL; for the demo site its
    /// content pages and how many URLs a crawl with these options fetches (<paramref name="demoUrls"/>,
    /// null for another site): pages, redirects, errors and files; the workers and the per-origin bound.
    /// </summary>
    public static string Header(CrawlOptions options, int? demoUrls)
    {
        var inv = CultureInfo.InvariantCulture;
        string site = demoUrls switch
        {
            null => "",
            { } urls when urls <= options.MaxPages => string.Format(inv, ", the demo site: {0:N0} content pages, {1:N0} URLs in a full crawl", options.DemoPages, urls),
            { } urls => string.Format(inv, ", the demo site: {0:N0} content pages, {1:N0} URLs in a full crawl (--max-pages stops it at {2:N0})", options.DemoPages, urls, options.MaxPages),
        };
        return string.Format(inv, "Crawling {0}{1}.{2}{3:N0} worker tasklets, at most {4:N0} fetches at once per origin. Ctrl-C stops.",
            options.StartUrl, site, Environment.NewLine, options.Concurrency, options.EffectivePerHost);
    }

    /// <summary>Notes a record for the "latest" lines. Loop thread; not a yield point.</summary>
    public void Add(CrawlRecord record)
    {
        _latest.Enqueue(record);
        if (_latest.Count > 5) _latest.Dequeue();
    }

    /// <summary>
    /// Shows <paramref name="line"/> (Ctrl-C's "stopping") in the live view, inside its frame, from
    /// the next frame on and in the last one: anything written to the terminal while the view
    /// redraws itself would land inside it. The plain view ignores it (write it to stderr). Loop
    /// thread; not a yield point.
    /// </summary>
    public void ShowStopping(string line)
    {
        _stopping = line;
        Volatile.Write(ref _snapshot, Take(_crawler, _latest, _stopping));
    }

    /// <summary>Shows the final numbers and stops: the sampler ends and the display thread finishes its last frame. A yield point.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        _sampler.Kill();
        await _sampler.JoinAsync();
        Volatile.Write(ref _snapshot, Take(_crawler, _latest, _stopping));
        if (IsLive)
        {
            _stop.Set();
            await _displayEnded.Task; // a foreign Task: the tasklet resumes on the loop when the thread is done
        }
        _stop.Dispose();
    }

    private async Task SampleAsync()
    {
        var interval = IsLive ? LiveInterval : PlainInterval;
        while (true)
        {
            await Tasklet.Sleep(interval);
            var snapshot = Take(_crawler, _latest, _stopping);
            if (IsLive) Volatile.Write(ref _snapshot, snapshot);
            else _plain.WriteLine(PlainLine(snapshot));
        }
    }

    /// <summary>The numbers of <paramref name="crawler"/> now, with <paramref name="latest"/> records and the stopping line if any. Loop thread.</summary>
    public static Snapshot Take(Crawler crawler, IEnumerable<CrawlRecord> latest, string? stopping)
    {
        var stats = crawler.Stats;
        var topErrors = stats.ErrorsByKind.OrderByDescending(e => e.Value).ThenBy(e => e.Key, StringComparer.Ordinal).Take(3)
            .Select(e => string.Create(CultureInfo.InvariantCulture, $"{e.Key} ×{e.Value:N0}")).ToArray();
        var doing = Enum.GetValues<WorkerActivity>().Select(crawler.WorkersDoing).ToArray();
        return new Snapshot(stats.Pages, stats.PagesPerSecond, stats.Errors, string.Join(", ", topErrors) + (stats.ErrorsByKind.Count > 3 ? ", ..." : ""),
            crawler.Hosts.Disallowed, crawler.Frontier.Queued, crawler.Options.Concurrency, doing, stats.Elapsed,
            latest.Select(r => new LatestPage(r.Status, r.Url, r.ElapsedMs, r.Error)).ToArray(), stopping);
    }

    /// <summary>What the workers are doing, in words: "3 fetching, 58 parsing, 3 waiting for a host slot" (idle ones last).</summary>
    public static string WorkersText(Snapshot s)
    {
        var parts = new List<string>();
        void Part(WorkerActivity activity, string words)
        {
            int n = s.Doing[(int)activity];
            if (n > 0) parts.Add(string.Create(CultureInfo.InvariantCulture, $"{n:N0} {words}"));
        }
        Part(WorkerActivity.Fetching, "fetching");
        Part(WorkerActivity.Parsing, "parsing");
        Part(WorkerActivity.WaitingForHostSlot, "waiting for a host slot");
        Part(WorkerActivity.WaitingForRobots, "waiting for robots.txt");
        Part(WorkerActivity.WaitingForUrl, "waiting for a URL");
        return parts.Count == 0 ? "none busy" : string.Join(", ", parts);
    }

    /// <summary>
    /// The live view's numbers as (label, number, what it is) rows, in the order shown. Errors are
    /// fetches that failed; URLs robots.txt disallows are not fetched, so they are a row of their own.
    /// </summary>
    public static IReadOnlyList<(string Label, string Value, string Detail)> Rows(Snapshot s)
    {
        var inv = CultureInfo.InvariantCulture;
        var rows = new List<(string, string, string)>
        {
            ("fetched", s.Fetched.ToString("N0", inv), string.Format(inv, "URLs, {0:N0}/s", s.PerSecond)),
            ("errors", s.Errors.ToString("N0", inv), s.Errors == 0 ? "fetches that failed" : "fetches that failed: " + s.TopErrors),
            ("robots.txt", s.Disallowed.ToString("N0", inv), "URLs disallowed, not fetched"),
            ("queue", s.Queued.ToString("N0", inv), "URLs waiting for a worker"),
            ("workers", s.Workers.ToString("N0", inv), WorkersText(s)),
            ("elapsed", s.Elapsed.TotalSeconds.ToString("0.0", inv), "s"),
        };
        return rows;
    }

    /// <summary>One line of the plain display.</summary>
    public static string PlainLine(Snapshot s) => string.Create(CultureInfo.InvariantCulture,
        $"[{s.Elapsed.TotalSeconds,5:0.0} s] {s.Fetched:N0} URLs fetched ({s.PerSecond:0}/s), {s.Errors:N0} failed, {s.Disallowed:N0} disallowed by robots.txt, {s.Queued:N0} queued; workers: {WorkersText(s)}");

    private void RunDisplay()
    {
        try
        {
            AnsiConsole.Live(Render(Volatile.Read(ref _snapshot)))
                .AutoClear(false)
                .Overflow(VerticalOverflow.Ellipsis)
                .Start(context =>
                {
                    while (!_stop.Wait(LiveInterval)) context.UpdateTarget(Render(Volatile.Read(ref _snapshot)));
                    context.UpdateTarget(Render(Volatile.Read(ref _snapshot)));
                    context.Refresh();
                });
            _displayEnded.SetResult();
        }
        catch (Exception e)
        {
            _displayEnded.SetException(e);
        }
    }

    /// <summary>The live view of one snapshot. Display thread: reads the snapshot only.</summary>
    private IRenderable Render(Snapshot s)
    {
        var numbers = new Grid().AddColumn(new GridColumn().PadRight(2)).AddColumn(new GridColumn().RightAligned()).AddColumn(new GridColumn().PadLeft(2));
        foreach (var (label, value, detail) in Rows(s))
        {
            string style = label switch
            {
                "fetched" => "bold green",
                "errors" when s.Errors > 0 => "bold red",
                "workers" => "bold yellow",
                _ => "bold",
            };
            numbers.AddRow(new Markup($"[grey]{label}[/]"), new Markup($"[{style}]{Markup.Escape(value)}[/]"), new Markup($"[grey]{Markup.Escape(detail)}[/]"));
        }

        var latest = new Grid().AddColumn(new GridColumn().PadRight(1)).AddColumn(new GridColumn().RightAligned().PadRight(1)).AddColumn(new GridColumn());
        foreach (var page in s.Latest)
        {
            string status = page.Status is { } code ? code.ToString(CultureInfo.InvariantCulture) : "---";
            string color = page.Error is null ? (page.Status is >= 300 and < 400 ? "blue" : "green") : "red";
            string path = Uri.TryCreate(page.Url, UriKind.Absolute, out var url) ? url.PathAndQuery : page.Url;
            if (path.Length > 60) path = path[..57] + "...";
            string detail = page.Error is { } error && error != $"http {page.Status}" ? $" [red]{Markup.Escape(error)}[/]" : "";
            latest.AddRow(new Markup($"[{color}]{status}[/]"), new Markup($"[grey]{page.ElapsedMs,6:0.0} ms[/]"), new Markup(Markup.Escape(path) + detail));
        }
        var parts = new List<IRenderable> { numbers, new Text(""), latest };
        if (s.Stopping is { } stopping)
        {
            parts.Add(new Text(""));
            parts.Add(new Markup($"[yellow]{Markup.Escape(stopping)}[/]"));
        }
        return new Panel(new Rows(parts))
            .Header($" [bold]Evergreen crawler[/] [grey]{Markup.Escape(_title)}[/] ")
            .RoundedBorder()
            .BorderColor(s.Stopping is null ? Color.Green : Color.Yellow)
            .Padding(1, 0, 1, 0);
    }

    /// <summary>What the view shows, copied on the loop thread; immutable, so the display thread can read it.</summary>
    /// <param name="Fetched">URLs fetched (one record each, failed ones included).</param>
    /// <param name="PerSecond">URLs fetched per second of wall time.</param>
    /// <param name="Errors">Fetches that failed (an error status, a timeout, a reset...).</param>
    /// <param name="TopErrors">The commonest errors, "http 404 ×300, http 500 ×1".</param>
    /// <param name="Disallowed">URLs robots.txt disallowed (not fetched, not errors).</param>
    /// <param name="Queued">URLs waiting for a worker.</param>
    /// <param name="Workers">Worker tasklets in all.</param>
    /// <param name="Doing">How many workers do each <see cref="WorkerActivity"/>, indexed by it.</param>
    /// <param name="Elapsed">Wall time of the crawl so far.</param>
    /// <param name="Latest">The latest records.</param>
    /// <param name="Stopping">Ctrl-C's "stopping" line, once it came.</param>
    public sealed record Snapshot(int Fetched, double PerSecond, int Errors, string TopErrors, int Disallowed, int Queued, int Workers,
        int[] Doing, TimeSpan Elapsed, LatestPage[] Latest, string? Stopping);

    /// <summary>One of the latest pages in the view.</summary>
    public sealed record LatestPage(int? Status, string Url, double ElapsedMs, string? Error);
}
