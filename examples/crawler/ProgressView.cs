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
/// Shows a crawl's progress while it runs: pages done, pages/s, errors, queue length, active
/// fetches, the latest pages. Start it on the loop; dispose it (on the loop) when the crawl ends.
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
    private bool _disposed;

    private ProgressView(Crawler crawler, string title, bool live, TextWriter plain)
    {
        _crawler = crawler;
        _title = title;
        _plain = plain;
        _snapshot = Take();
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

    /// <summary>Notes a record for the "latest" lines. Loop thread; not a yield point.</summary>
    public void Add(CrawlRecord record)
    {
        _latest.Enqueue(record);
        if (_latest.Count > 5) _latest.Dequeue();
    }

    /// <summary>Shows the final numbers and stops: the sampler ends and the display thread finishes its last frame. A yield point.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        _sampler.Kill();
        await _sampler.JoinAsync();
        Volatile.Write(ref _snapshot, Take());
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
            var snapshot = Take();
            if (IsLive) Volatile.Write(ref _snapshot, snapshot);
            else _plain.WriteLine(PlainLine(snapshot));
        }
    }

    /// <summary>The numbers now. Loop thread.</summary>
    private Snapshot Take()
    {
        var stats = _crawler.Stats;
        var latest = _latest.Select(r => new LatestPage(r.Status, r.Url, r.ElapsedMs, r.Error)).ToArray();
        return new Snapshot(stats.Pages, stats.PagesPerSecond, stats.Errors, _crawler.Frontier.Queued, _crawler.ActiveFetches,
            _crawler.Options.Concurrency, _crawler.Hosts.Disallowed, stats.Elapsed, latest);
    }

    /// <summary>One line of the plain display.</summary>
    public static string PlainLine(Snapshot s) => string.Create(CultureInfo.InvariantCulture,
        $"[{s.Elapsed.TotalSeconds,5:0.0} s] {s.Pages} pages ({s.PagesPerSecond:0}/s), {s.Errors} errors, {s.Queued} queued, {s.Active} fetching");

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
        numbers.AddRow(new Markup("[grey]pages[/]"), new Markup($"[bold green]{s.Pages:N0}[/]"), new Markup($"[green]{s.PagesPerSecond:N0}[/] [grey]pages/s[/]"));
        numbers.AddRow(new Markup("[grey]errors[/]"), new Markup(s.Errors > 0 ? $"[bold red]{s.Errors:N0}[/]" : "[bold]0[/]"), new Markup(s.Disallowed > 0 ? $"[grey]{s.Disallowed:N0} disallowed by robots.txt[/]" : ""));
        numbers.AddRow(new Markup("[grey]queue[/]"), new Markup($"[bold]{s.Queued:N0}[/]"), new Markup("[grey]URLs waiting[/]"));
        numbers.AddRow(new Markup("[grey]fetching[/]"), new Markup($"[bold yellow]{s.Active}[/]"), new Markup($"[grey]of {s.Workers} worker tasklets[/]"));
        numbers.AddRow(new Markup("[grey]elapsed[/]"), new Markup($"[bold]{s.Elapsed.TotalSeconds:0.0}[/]"), new Markup("[grey]s[/]"));

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
        var body = new Rows(numbers, new Text(""), latest);
        return new Panel(body)
            .Header($" [bold]Evergreen crawler[/] [grey]{Markup.Escape(_title)}[/] ")
            .RoundedBorder()
            .BorderColor(Color.Green)
            .Padding(1, 0, 1, 0);
    }

    /// <summary>What the view shows, copied on the loop thread; immutable, so the display thread can read it.</summary>
    public sealed record Snapshot(int Pages, double PagesPerSecond, int Errors, int Queued, int Active, int Workers, int Disallowed,
        TimeSpan Elapsed, LatestPage[] Latest);

    /// <summary>One of the latest pages in the view.</summary>
    public sealed record LatestPage(int? Status, string Url, double ElapsedMs, string? Error);
}
