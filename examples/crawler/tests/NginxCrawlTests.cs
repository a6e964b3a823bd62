using System.Text.Json;
using Evergreen.Crawler;

namespace Evergreen.Tests;

/// <summary>
/// The crawler end to end against a real, independent server: nginx serving the demo site's
/// static part (DemoSite.WriteStaticSite) from a private config (NginxSite). What the crawler
/// fetched is checked against the site's expected URL set, and what it asked for against nginx's
/// own access log. Needs nginx (/usr/sbin/nginx): without it these fail, saying how to install it.
/// </summary>
public class NginxCrawlTests
{
    private const int Pages = 300;

    private static CrawlOptions Options(NginxSite site) => new()
    {
        StartUrl = site.BaseUrl,
        Concurrency = 16,
        PerHost = 8,
        Timeout = TimeSpan.FromSeconds(10),
    };

    /// <summary>Crawls the site in a fresh loop (nginx runs outside it) and returns the crawler.</summary>
    private static Evergreen.Crawler.Crawler Crawl(CrawlOptions options, string? jsonl = null)
    {
        Evergreen.Crawler.Crawler? crawler = null;
        TestLoop.Run(async () =>
        {
            using var output = jsonl is null ? null : JsonlWriter.Create(jsonl);
            crawler = await Evergreen.Crawler.Crawler.RunAsync(options, output);
        });
        return crawler!;
    }

    /// <summary>The site's own paths (files under its root, as nginx serves them) that its robots.txt disallows for this crawler.</summary>
    private static List<string> DisallowedFiles(NginxSite site, string userAgent)
    {
        var robots = RobotsTxt.Parse(File.ReadAllText(Path.Combine(site.Root, "robots.txt")), userAgent);
        return Directory.EnumerateFiles(site.Root, "*", SearchOption.AllDirectories)
            .Select(file => "/" + Path.GetRelativePath(site.Root, file).Replace(Path.DirectorySeparatorChar, '/'))
            .Select(path => path.EndsWith("/index.html", StringComparison.Ordinal) ? path[..^"index.html".Length] : path)
            .Where(path => !robots.IsAllowed(path))
            .ToList();
    }

    [Fact]
    public void ACrawl_FetchesExactlyTheExpectedUrls_OnceEach_AndNothingDisallowedOrOffSite()
    {
        using var site = NginxSite.Start();
        var expectedPaths = DemoSite.WriteStaticSite(site.Root, Pages);
        var options = Options(site);
        string origin = site.BaseUrl.GetLeftPart(UriPartial.Authority);
        string jsonl = Path.Combine(site.Directory, "crawl.jsonl");

        var crawler = Crawl(options, jsonl);
        site.Stop(); // its access log is complete once it has exited

        // The crawler's side: the exact set, each URL once.
        var fetched = crawler.Records.Select(r => r.Url).ToList();
        Assert.Equal(fetched.Count, fetched.Distinct().Count());
        var expected = expectedPaths.Select(path => origin + path).ToHashSet();
        Assert.Equal(expected.Order(), fetched.Order());
        Assert.All(crawler.Records, r => Assert.True(r.Error is null || r.Error == "http 404", $"{r.Url}: {r.Error}"));
        Assert.Contains(crawler.Records, r => r.Status == 404);                 // the site's broken links
        Assert.Contains(crawler.Records, r => r.ContentType == "application/pdf"); // and its non-HTML files

        // Disallowed: the site links into /private/, and none of it was fetched.
        var disallowed = DisallowedFiles(site, options.UserAgent);
        Assert.NotEmpty(disallowed);
        Assert.Contains("href=\"/private/\"", File.ReadAllText(Path.Combine(site.Root, "index.html")));
        Assert.True(crawler.Hosts.Disallowed > 0, "robots.txt turned no URL away: the test saw no disallowed link");
        Assert.DoesNotContain(fetched, url => disallowed.Contains(new Uri(url).PathAndQuery));

        // Off-site: the site links to other hosts, and nothing but nginx's origin was fetched.
        Assert.True(crawler.Frontier.OffSite > 0, "no off-site link was seen: the test would prove nothing");
        Assert.All(fetched, url => Assert.StartsWith(origin + "/", url));

        // nginx's side: every request is an expected path or robots.txt (once), none disallowed.
        var requests = site.ReadAccessLog();
        Assert.All(requests, r => Assert.Equal("GET", r.Method));
        Assert.Equal(1, requests.Count(r => r.Uri == "/robots.txt"));
        var requested = requests.Where(r => r.Uri != "/robots.txt").Select(r => r.Uri).ToList();
        Assert.Equal(expectedPaths.Order(), requested.Order());
        Assert.DoesNotContain(requested, disallowed.Contains);

        // The JSONL: one valid object per fetched URL, with every field.
        var lines = File.ReadAllLines(jsonl);
        Assert.Equal(crawler.Records.Count, lines.Length);
        foreach (var line in lines)
        {
            using var record = JsonDocument.Parse(line);
            var names = record.RootElement.EnumerateObject().Select(p => p.Name).ToArray();
            Assert.Equal(["url", "final_url", "status", "depth", "content_type", "bytes", "links", "elapsed_ms", "error"], names);
        }
    }

    [Fact]
    public void WithNoRobots_TheDisallowedSubtreeIsFetched_AndRobotsTxtIsNotAskedFor()
    {
        using var site = NginxSite.Start();
        DemoSite.WriteStaticSite(site.Root, Pages);
        var options = Options(site);
        options.ObeyRobots = false;
        string origin = site.BaseUrl.GetLeftPart(UriPartial.Authority);

        var crawler = Crawl(options);
        site.Stop();

        var expected = DemoSite.ExpectedStaticPaths(Pages, obeyRobots: false);
        var disallowed = DisallowedFiles(site, options.UserAgent);
        Assert.Equal(expected.Select(path => origin + path).Order(), crawler.Records.Select(r => r.Url).Order());
        Assert.Contains(crawler.Records, r => disallowed.Contains(new Uri(r.Url).PathAndQuery) && r.Status == 200);
        var requests = site.ReadAccessLog();
        Assert.DoesNotContain(requests, r => r.Uri == "/robots.txt");
        Assert.Equal(expected.Order(), requests.Select(r => r.Uri).Order());
    }

    [Fact]
    public void MaxPages_BoundsWhatIsTakenIn_AndFetched()
    {
        using var site = NginxSite.Start();
        DemoSite.WriteStaticSite(site.Root, Pages);
        var options = Options(site);
        options.MaxPages = 40;

        var crawler = Crawl(options);
        site.Stop();

        Assert.Equal(40, crawler.Frontier.Admitted);
        Assert.True(crawler.Frontier.OverLimit > 0, "the limit dropped no link: the site is too small for this test");
        Assert.InRange(crawler.Records.Count, 1, 40);
        var requested = site.ReadAccessLog().Where(r => r.Uri != "/robots.txt").Select(r => r.Uri).ToList();
        Assert.Equal(crawler.Records.Select(r => new Uri(r.Url).PathAndQuery).Order(), requested.Order());
    }
}
