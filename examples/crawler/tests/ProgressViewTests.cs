using Evergreen.Crawler;
using Evergreen.Sync;
using WebCrawler = Evergreen.Crawler.Crawler;

namespace Evergreen.Tests;

/// <summary>
/// examples/crawler's progress display, the parts that compute what is shown: what the workers
/// are doing, the rows and their words, the header, the "Run '... --help'" hint.
/// </summary>
public class ProgressViewTests
{
    private static ProgressView.Snapshot Snapshot(int errors = 0, string topErrors = "", int disallowed = 0, int[]? doing = null) =>
        new(Fetched: 4428, PerSecond: 3599.4, Errors: errors, TopErrors: topErrors, Disallowed: disallowed, Queued: 120, Workers: 64,
            Doing: doing ?? new int[Enum.GetValues<WorkerActivity>().Length], Elapsed: TimeSpan.FromSeconds(1.23), Latest: [], Stopping: null);

    [Fact]
    public void WhileOneFetchHoldsTheOnlyHostSlot_TheOtherWorkersAreShownWaitingForIt()
    {
        TestLoop.Run(async () =>
        {
            var release = new AsyncEvent();
            await using var server = new RawHttpServer(async (request, conn) =>
            {
                if (request.Target.StartsWith("/p", StringComparison.Ordinal)) await release.WaitAsync();
                await RawHttpServer.Send(conn, request.Target switch
                {
                    "/robots.txt" => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
                    "/" => RawHttpServer.Ok("<a href=/p1>1</a><a href=/p2>2</a><a href=/p3>3</a><a href=/p4>4</a>", "Content-Type: text/html\r\n"),
                    _ => RawHttpServer.Ok("ok", "Content-Type: text/plain\r\n"),
                });
                return true;
            });
            var crawler = new WebCrawler(new CrawlOptions { StartUrl = new Uri(server.Url("/")), Concurrency = 6, PerHost = 1 }, keepRecords: true);
            var crawl = Tasklet.Spawn(crawler.RunAsync, "crawl");
            using (CancelScope.FailAfter(TimeSpan.FromSeconds(20)))
            {
                while (!server.Requests.Any(r => r.Target.StartsWith("/p", StringComparison.Ordinal)) || crawler.WorkersDoing(WorkerActivity.WaitingForHostSlot) < 3)
                {
                    await Tasklet.Yield();
                }
            }
            var shown = ProgressView.Take(crawler, [], null);
            Assert.Equal(1, crawler.WorkersDoing(WorkerActivity.Fetching));
            Assert.Equal(1, crawler.ActiveFetches);
            Assert.Equal(3, crawler.WorkersDoing(WorkerActivity.WaitingForHostSlot));
            Assert.Equal(2, crawler.WorkersDoing(WorkerActivity.WaitingForUrl));
            Assert.Equal(0, crawler.WorkersDoing(WorkerActivity.Parsing));
            Assert.Equal("1 fetching, 3 waiting for a host slot, 2 waiting for a URL", ProgressView.WorkersText(shown));
            Assert.Contains(ProgressView.Rows(shown), row => row == ("workers", "6", "1 fetching, 3 waiting for a host slot, 2 waiting for a URL"));
            Assert.Contains("; workers: 1 fetching, 3 waiting for a host slot, 2 waiting for a URL", ProgressView.PlainLine(shown));

            release.Set();
            await crawl;
            Assert.Equal(5, crawler.Records.Count);
            Assert.All(Enum.GetValues<WorkerActivity>(), activity => Assert.Equal(0, crawler.WorkersDoing(activity)));
        });
    }

    [Fact]
    public void Rows_SayWhatEachNumberIs_AndRobotsDisallowedUrlsAreNotAnErrorRow()
    {
        var rows = ProgressView.Rows(Snapshot(errors: 302, topErrors: "http 404 ×300, http 500 ×1, redirect loop ×1", disallowed: 62));
        Assert.Equal(["fetched", "errors", "robots.txt", "queue", "workers", "elapsed"], rows.Select(r => r.Label));
        Assert.Equal(("fetched", "4,428", "URLs, 3,599/s"), rows[0]);
        Assert.Equal(("errors", "302", "fetches that failed: http 404 ×300, http 500 ×1, redirect loop ×1"), rows[1]);
        Assert.Equal(("robots.txt", "62", "URLs disallowed, not fetched"), rows[2]);
        Assert.DoesNotContain("disallowed", rows[1].Detail);
        Assert.Equal(("queue", "120", "URLs waiting for a worker"), rows[3]);
        Assert.Equal(("workers", "64", "none busy"), rows[4]);

        string plain = ProgressView.PlainLine(Snapshot(errors: 2, disallowed: 62));
        Assert.Equal("[  1.2 s] 4,428 URLs fetched (3599/s), 2 failed, 62 disallowed by robots.txt, 120 queued; workers: none busy", plain);
    }

    [Fact]
    public void Header_OfTheDemo_SaysContentPagesAndUrlsApart()
    {
        var options = new CrawlOptions { StartUrl = new Uri("http://127.0.0.1:40123/"), IsDemo = true };
        string header = ProgressView.Header(options, demoUrls: 4428);
        Assert.Equal("Crawling http://127.0.0.1:40123/, the demo site: 3,000 content pages, 4,428 URLs in a full crawl." + Environment.NewLine +
            "64 worker tasklets, at most 64 fetches at once per origin. Ctrl-C stops.", header);
        options.MaxPages = 1000;
        Assert.Contains("4,428 URLs in a full crawl (--max-pages stops it at 1,000).", ProgressView.Header(options, demoUrls: 4428));
        var site = new CrawlOptions { StartUrl = new Uri("https://example.org/"), Concurrency = 16 };
        Assert.Equal("Crawling https://example.org/." + Environment.NewLine + "16 worker tasklets, at most 8 fetches at once per origin. Ctrl-C stops.",
            ProgressView.Header(site, demoUrls: null));
    }

    [Theory]
    [InlineData("dotnet|run|--project|examples/crawler|--|--frobnicate", "/w/examples/crawler/bin/Debug/net10.0/crawler|--frobnicate", 1, "dotnet run --project examples/crawler --")]
    [InlineData("dotnet|run|--project|examples/crawler|--frobnicate", "/w/bin/crawler|--frobnicate", 1, "dotnet run --project examples/crawler --")]
    [InlineData("/usr/bin/dotnet|run|--project|my dir/crawler|--|-x", "/w/bin/crawler|-x", 1, "/usr/bin/dotnet run --project 'my dir/crawler' --")]
    [InlineData("bash", "dotnet|bin/Debug/net10.0/crawler.dll|--frobnicate", 1, "dotnet bin/Debug/net10.0/crawler.dll")]
    [InlineData("bash", "./crawler|--frobnicate", 1, "./crawler")]
    [InlineData(null, null, 1, "crawler")]
    public void CommandName_IsHowTheUserRanIt(string? parent, string? self, int arguments, string expected) =>
        Assert.Equal(expected, CommandName.From(self?.Split('|'), parent?.Split('|'), arguments));
}
