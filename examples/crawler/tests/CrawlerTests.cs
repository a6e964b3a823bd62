using System.Text;
using System.Text.Json;
using Evergreen.Crawler;
using WebCrawler = Evergreen.Crawler.Crawler;

namespace Evergreen.Tests;

/// <summary>
/// examples/crawler end to end against its in-process demo site: the exact URL set, nothing
/// off-site or disallowed (checked on the server's side too), nothing twice, the limits, the
/// JSONL output, and Ctrl-C's cancellation.
/// </summary>
public class CrawlerTests
{
    private const int Pages = 300;

    private static CrawlOptions DemoOptions(DemoSite site) => new() { StartUrl = site.RootUrl, IsDemo = true };

    /// <summary>Every request the site got, but robots.txt: (host, target).</summary>
    private static List<DemoRequest> PageRequests(DemoSite site) => site.Requests.Where(r => r.Target != "/robots.txt").ToList();

    [Fact]
    public void TheDemoCrawl_FetchesExactlyTheExpectedUrls_EachOnce_NothingOffSiteOrDisallowed()
    {
        TestLoop.Run(async () =>
        {
            await using var site = new DemoSite(Pages);
            var endPoint = site.Start();
            using var jsonl = new MemoryStream();
            WebCrawler crawler;
            using (var output = new JsonlWriter(jsonl, ownsStream: false))
            {
                crawler = await WebCrawler.RunAsync(DemoOptions(site), output);
            }

            var fetched = crawler.Records.Select(r => r.Url).ToList();
            Assert.Equal(fetched.Count, fetched.Distinct().Count());
            var expected = site.ExpectedUrls();
            Assert.Equal(expected.Order(StringComparer.Ordinal), fetched.Order(StringComparer.Ordinal));
            Assert.Contains($"{site.RootUrl}trap/1/2/3/4/5/6/7/8/9/", fetched); // depth 10: the trap stops there
            Assert.DoesNotContain($"{site.RootUrl}trap/1/2/3/4/5/6/7/8/9/10/", fetched);
            Assert.True(crawler.Frontier.TooDeep > 0);

            // The server's side: one robots.txt, every other URL once, all on 127.0.0.1:port
            // (never the localhost:port alias the site links to), nothing robots.txt disallows.
            Assert.All(site.Requests, r => Assert.Equal($"127.0.0.1:{endPoint.Port}", r.Host));
            Assert.Single(site.Requests, r => r.Target == "/robots.txt");
            var targets = PageRequests(site).Select(r => r.Target).ToList();
            Assert.Equal(targets.Count, targets.Distinct().Count());
            Assert.Equal(DemoSite.ExpectedPaths(Pages).Order(StringComparer.Ordinal), targets.Order(StringComparer.Ordinal));
            Assert.DoesNotContain(targets, DemoSite.IsDisallowedByRobots);
            Assert.Equal(DemoSite.DisallowedPaths(Pages).Count, crawler.Hosts.Disallowed);
            Assert.True(crawler.Hosts.Disallowed > 5);

            // What the records say about the site's special pages.
            CrawlRecord At(string path) => crawler.Records.Single(r => r.Url == site.RootUrl + path.TrimStart('/'));
            Assert.Equal((200, (string?)null, "text/html"), (At("/").Status, At("/").Error, At("/").ContentType));
            Assert.True(At("/").Links > Pages / DemoSite.PagesPerSection);
            Assert.Equal((500, "http 500"), (At("/error").Status, At("/error").Error));
            Assert.Equal((404, "http 404"), (At("/s/0/missing-7.html").Status, At("/s/0/missing-7.html").Error));
            Assert.Equal((301, $"{site.RootUrl}s/0/moved-3.html"), (At("/s/0/old-3.html").Status, At("/s/0/old-3.html").FinalUrl));
            Assert.Equal(3, At("/s/0/moved-3.html").Depth); // a redirect's target keeps the depth of the link that redirected
            Assert.Equal("redirect loop", At("/loop/b").Error);
            Assert.Null(At("/loop/a").Error);
            Assert.Equal(("https://www.example.org/", (string?)null), (At("/leave").FinalUrl, At("/leave").Error));
            Assert.Equal(("application/pdf", 0), (At("/files/report.pdf").ContentType, At("/files/report.pdf").Links));
            Assert.True(At("/files/report.pdf").Bytes > 100);
            Assert.Equal(2, At("/about/staff/alice.html").Depth); // found through the <base href>
            Assert.True(At("/slow/0.html").ElapsedMs >= 150);
            Assert.Equal(3, crawler.Stats.ErrorsByKind.Count); // http 404, http 500, redirect loop
            Assert.Equal(fetched.Count, crawler.Stats.Pages);

            // The JSONL: one object per fetched URL, every field there.
            var lines = Encoding.UTF8.GetString(jsonl.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(fetched.Count, lines.Length);
            var urls = new HashSet<string>();
            foreach (var line in lines)
            {
                using var json = JsonDocument.Parse(line);
                var o = json.RootElement;
                Assert.Equal(["url", "final_url", "status", "depth", "content_type", "bytes", "links", "elapsed_ms", "error"],
                    o.EnumerateObject().Select(p => p.Name));
                Assert.True(urls.Add(o.GetProperty("url").GetString()!));
                Assert.Equal(JsonValueKind.Number, o.GetProperty("status").ValueKind);
                Assert.True(o.GetProperty("elapsed_ms").GetDouble() >= 0);
                Assert.True(o.GetProperty("error").ValueKind is JsonValueKind.Null or JsonValueKind.String);
            }
            Assert.True(urls.SetEquals(expected));
        });
    }

    [Fact]
    public void MaxDepth_CutsTheSameUrlsOnEveryRun()
    {
        TestLoop.Run(async () =>
        {
            await using var site = new DemoSite(Pages);
            site.Start();
            var options = DemoOptions(site);
            options.MaxDepth = 2;
            var crawler = await WebCrawler.RunAsync(options);
            Assert.Equal(site.ExpectedUrls(maxDepth: 2).Order(StringComparer.Ordinal), crawler.Records.Select(r => r.Url).Order(StringComparer.Ordinal));
            Assert.All(crawler.Records, r => Assert.InRange(r.Depth, 0, 2));
            Assert.Contains(crawler.Records, r => r.Url.EndsWith("/trap/1/", StringComparison.Ordinal));
            Assert.DoesNotContain(crawler.Records, r => r.Url.EndsWith("/trap/1/2/", StringComparison.Ordinal));
        });
    }

    [Fact]
    public void MaxPages_StopsTheTrap_AndTheFrontierStaysBounded()
    {
        TestLoop.Run(async () =>
        {
            await using var site = new DemoSite(Pages);
            site.Start();
            var options = DemoOptions(site);
            options.MaxDepth = 1_000_000; // only the page limit can stop the trap and the calendar
            options.MaxPages = 120;
            var crawler = await WebCrawler.RunAsync(options);
            Assert.Equal(120, crawler.Frontier.Admitted);
            Assert.True(crawler.Frontier.OverLimit > 0);
            Assert.Equal(120 - crawler.Hosts.Disallowed, crawler.Records.Count);
            Assert.Equal(crawler.Records.Count, crawler.Records.Select(r => r.Url).Distinct().Count());
            Assert.Equal(crawler.Records.Count, PageRequests(site).Count);
            Assert.DoesNotContain(PageRequests(site), r => DemoSite.IsDisallowedByRobots(r.Target));
        });
    }

    [Fact]
    public void NoRobots_FetchesTheDisallowedSubtree_AndNeverAsksForRobotsTxt()
    {
        TestLoop.Run(async () =>
        {
            await using var site = new DemoSite(Pages);
            site.Start();
            var options = DemoOptions(site);
            options.ObeyRobots = false;
            var crawler = await WebCrawler.RunAsync(options);
            var fetched = crawler.Records.Select(r => r.Url).ToHashSet();
            Assert.True(fetched.SetEquals(site.ExpectedUrls(obeyRobots: false)));
            foreach (var path in DemoSite.DisallowedPaths(Pages)) Assert.Contains(site.RootUrl + path.TrimStart('/'), fetched);
            Assert.DoesNotContain(site.Requests, r => r.Target == "/robots.txt");
            Assert.Equal(0, crawler.Hosts.Disallowed);
        });
    }

    [Fact]
    public void AllowHost_LetsTheCrawlerOntoAnotherHost_WithItsOwnRobotsTxt()
    {
        TestLoop.Run(async () =>
        {
            await using var site = new DemoSite(Pages);
            var endPoint = site.Start();
            var options = DemoOptions(site);
            options.AllowHosts.Add(OriginPattern.Parse($"127.0.0.1:{endPoint.Port}"));
            options.AllowHosts.Add(OriginPattern.Parse("localhost")); // any port, the start URL's scheme
            var crawler = await WebCrawler.RunAsync(options);
            string alias = $"http://localhost:{endPoint.Port}/offsite.html";
            Assert.True(crawler.Records.Select(r => r.Url).ToHashSet().SetEquals(site.ExpectedUrls().Append(alias)));
            Assert.Equal(2, site.Requests.Count(r => r.Target == "/robots.txt"));
            Assert.Contains(site.Requests, r => r.Host == $"localhost:{endPoint.Port}" && r.Target == "/offsite.html");
        });
    }

    [Fact]
    public void Cancel_MidCrawl_RecordsInFlightFetchesAsCanceled_AndLeavesValidJsonl()
    {
        TestLoop.Run(async () =>
        {
            await using var site = new DemoSite(Pages);
            site.Start();
            using var jsonl = new MemoryStream();
            var output = new JsonlWriter(jsonl, ownsStream: false);
            var crawler = new WebCrawler(DemoOptions(site), output, keepRecords: true);
            // A slow page is being served (the server sleeps before answering): its fetch is in flight.
            site.OnRequest = request =>
            {
                if (request.Target.StartsWith("/slow/", StringComparison.Ordinal) && request.Target != "/slow/") crawler.Cancel();
            };
            await crawler.RunAsync();
            output.Dispose();

            Assert.True(crawler.WasCanceled);
            Assert.True(crawler.Frontier.IsDone);
            Assert.Equal(0, crawler.ActiveFetches);
            var cancelled = crawler.Records.Where(r => r.Error == CrawlErrors.Canceled).ToList();
            Assert.NotEmpty(cancelled);
            Assert.All(cancelled, r => Assert.Null(r.Status));
            Assert.True(crawler.Records.Count < site.ExpectedUrls().Count);
            Assert.Equal(crawler.Records.Count, crawler.Records.Select(r => r.Url).Distinct().Count());
            var lines = Encoding.UTF8.GetString(jsonl.ToArray()).Split('\n');
            Assert.Equal("", lines[^1]); // ends with a complete line
            Assert.Equal(crawler.Records.Count, lines.Length - 1);
            foreach (var line in lines[..^1]) JsonDocument.Parse(line).Dispose();
            crawler.Cancel(); // after the end: nothing
        });
    }

    [Fact]
    public void Cancel_BeforeRunAsync_MakesItFetchNothing_AndReturnAtOnce()
    {
        // Ctrl-C while the command is still setting up (the demo site, the output file).
        TestLoop.Run(async () =>
        {
            await using var site = new DemoSite(Pages);
            site.Start();
            var crawler = new WebCrawler(DemoOptions(site), keepRecords: true);
            crawler.Cancel();
            await crawler.RunAsync();
            Assert.True(crawler.WasCanceled);
            Assert.Empty(crawler.Records);
            Assert.Empty(site.Requests);
            Assert.True(crawler.Frontier.IsDone);
        });
    }

    [Fact]
    public void TheStaticSite_ServedAsFiles_IsCrawledExactlyAsExpected()
    {
        // What bench/crawl and the nginx test do, with Evergreen's own file server.
        string directory = Path.Combine(Path.GetTempPath(), $"evergreen-static-{Guid.NewGuid():N}");
        try
        {
            var expected = DemoSite.WriteStaticSite(directory, 130);
            TestLoop.Run(async () =>
            {
                await using var server = new Evergreen.IO.Http.HttpServer();
                server.MapFiles("/", directory);
                var endPoint = server.Listen(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
                var serving = Tasklet.Spawn(() => server.ServeAsync(), "file server");
                var crawler = await WebCrawler.RunAsync(new CrawlOptions { StartUrl = new Uri($"http://127.0.0.1:{endPoint.Port}/") });
                await server.CloseAsync(TimeSpan.Zero);
                await serving;
                var fetched = crawler.Records.Select(r => new Uri(r.Url).PathAndQuery).ToList();
                Assert.Equal(expected.Order(StringComparer.Ordinal), fetched.Order(StringComparer.Ordinal));
                Assert.Contains("/trap/1/2/3/4/5/6/7/8/9/", fetched);
                Assert.Contains("/s/0/p1.html?view=print&lang=en", fetched);
                Assert.Equal(404, crawler.Records.Single(r => r.Url.EndsWith("/s/0/missing-7.html", StringComparison.Ordinal)).Status);
                Assert.Equal("application/pdf", crawler.Records.Single(r => r.Url.EndsWith("/files/report.pdf", StringComparison.Ordinal)).ContentType);
                Assert.True(crawler.Hosts.Disallowed > 0);
            });
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void RunAsync_WithoutAStartUrl_OrTwice_IsRefusedWithTheRule()
    {
        Assert.Contains("StartUrl must be set", Assert.Throws<ArgumentException>(() => new WebCrawler(new CrawlOptions())).Message);
        TestLoop.Run(async () =>
        {
            var crawler = new WebCrawler(new CrawlOptions { StartUrl = new Uri("http://127.0.0.1:9/"), ObeyRobots = false }, keepRecords: true);
            await crawler.RunAsync();
            Assert.Equal("refused", Assert.Single(crawler.Records).Error);
            var error = await Assert.ThrowsAsync<InvalidOperationException>(() => crawler.RunAsync());
            Assert.Contains("runs once", error.Message);
        });
    }

    [Fact]
    public void AnHttpsLink_ToTheStartUrlsOwnHostAndPort_IsAnotherOrigin_AndIsNotFetched()
    {
        // An origin is scheme, host and port (RFC 6454): https://127.0.0.1:PORT is not the plain
        // http://127.0.0.1:PORT site, and fetching it would send a TLS hello to a plain-HTTP port.
        TestLoop.Run(async () =>
        {
            int port = 0;
            await using var server = new RawHttpServer(async (request, conn) =>
            {
                await RawHttpServer.Send(conn, request.Target switch
                {
                    "/robots.txt" => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
                    "/" => RawHttpServer.Ok($"<a href=https://127.0.0.1:{port}/secure>tls</a><a href=/plain>plain</a>", "Content-Type: text/html\r\n"),
                    _ => RawHttpServer.Ok("ok", "Content-Type: text/plain\r\n"),
                });
                return true;
            });
            port = server.Port;
            var crawler = await WebCrawler.RunAsync(new CrawlOptions { StartUrl = new Uri(server.Url("/")), Concurrency = 1 });
            Assert.Equal([server.Url("/"), server.Url("/plain")], crawler.Records.Select(r => r.Url).Order(StringComparer.Ordinal));
            Assert.Equal(1, crawler.Frontier.OffSite);
            Assert.Equal(1, server.Accepted); // one kept-alive connection for robots.txt and the pages: none for a TLS hello
            Assert.Equal(["/robots.txt", "/", "/plain"], server.Requests.Select(r => r.Target));
        });
    }

    [Fact]
    public void ARobotsTxtOverTheBodyLimit_IsReadForItsFirst500KiB_AndObeyed()
    {
        // RFC 9309 §2.5: a crawler parses at least the first 500 KiB. A robots.txt whose
        // Content-Length is over the page limit is not "unreachable" (which disallows the site).
        TestLoop.Run(async () =>
        {
            string rules = "User-agent: *\nDisallow: /no\n";
            string padding = string.Concat(Enumerable.Repeat("# a long comment line, repeated until the file is large\n", 40_000)); // ~2 MiB
            await using var server = new RawHttpServer(async (request, conn) =>
            {
                await RawHttpServer.Send(conn, request.Target switch
                {
                    "/robots.txt" => RawHttpServer.Ok(rules + padding + "Disallow: /yes\n", "Content-Type: text/plain\r\n"), // past 500 KiB: ignored
                    "/" => RawHttpServer.Ok("<a href=/no>no</a><a href=/yes>yes</a>", "Content-Type: text/html\r\n"),
                    _ => RawHttpServer.Ok("ok", "Content-Type: text/plain\r\n"),
                });
                return request.Target != "/robots.txt";
            });
            var options = new CrawlOptions { StartUrl = new Uri(server.Url("/")), MaxBodyBytes = 1 << 20 };
            var crawler = await WebCrawler.RunAsync(options);
            Assert.Equal([server.Url("/"), server.Url("/yes")], crawler.Records.Select(r => r.Url).Order(StringComparer.Ordinal));
            Assert.Equal(1, crawler.Hosts.Disallowed);
            Assert.Equal(1, crawler.Hosts.RobotsFor(options.StartUrl)!.RuleCount);
            Assert.DoesNotContain(server.Requests, r => r.Target == "/no");
        });
    }
}
