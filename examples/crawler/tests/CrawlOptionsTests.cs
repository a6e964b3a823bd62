using Evergreen.Crawler;

namespace Evergreen.Tests;

/// <summary>examples/crawler's command line and host scope.</summary>
public class CrawlOptionsTests
{
    private static CrawlOptions Parse(params string[] args)
    {
        var options = CrawlOptions.Parse(args, out string? error);
        Assert.True(options is not null, error);
        return options!;
    }

    [Fact]
    public void EveryOption_IsRead_InBothSpellings()
    {
        var o = Parse("example.org/start", "--concurrency", "16", "--per-host=2", "--max-depth", "3", "--max-pages=500",
            "--allow-host", "example.org", "--allow-host=CDN.example.org:8443", "--delay", "0.25", "--timeout=2.5",
            "--user-agent", "TestBot/2", "--no-robots", "--output", "out.jsonl", "--demo-pages", "100");
        Assert.Equal(new Uri("http://example.org/start"), o.StartUrl);
        Assert.Equal((16, 2, 3, 500), (o.Concurrency, o.PerHost, o.MaxDepth, o.MaxPages));
        Assert.Equal(["example.org", "cdn.example.org:8443"], o.AllowHosts.Select(a => a.ToString()));
        Assert.Equal((TimeSpan.FromSeconds(0.25), TimeSpan.FromSeconds(2.5)), (o.Delay, o.Timeout));
        Assert.Equal(("TestBot/2", false, "out.jsonl", 100), (o.UserAgent, o.ObeyRobots, o.OutputPath, o.DemoPages));
    }

    [Fact]
    public void Defaults_AreTheDocumentedOnes()
    {
        var o = Parse();
        Assert.Null(o.StartUrl);
        Assert.Equal((64, 10, 10_000), (o.Concurrency, o.MaxDepth, o.MaxPages));
        Assert.Equal(8, o.EffectivePerHost);
        o.IsDemo = true;
        Assert.Equal(64, o.EffectivePerHost); // the demo site is ours to hammer
        Assert.True(o.ObeyRobots);
        Assert.Equal(TimeSpan.FromSeconds(15), o.Timeout);
    }

    [Theory]
    [InlineData("http://site.test/", "http://site.test/x", true)]
    [InlineData("http://site.test/", "http://site.test:80/x", true)]
    [InlineData("http://site.test/", "https://site.test/x", false)] // another scheme and port
    [InlineData("http://site.test:8080/", "http://site.test:8080/x", true)]
    [InlineData("http://site.test:8080/", "https://site.test:8080/x", false)] // same host and port, another scheme: another origin
    [InlineData("https://site.test:8443/", "http://site.test:8443/x", false)]
    [InlineData("http://site.test:8080/", "http://site.test/x", false)]
    [InlineData("http://site.test/", "http://www.site.test/x", false)]
    public void ByDefault_OnlyTheStartUrlsOrigin_IsInScope(string start, string url, bool inScope) =>
        Assert.Equal(inScope, new CrawlOptions { StartUrl = new Uri(start) }.IsInScope(new Uri(url)));

    [Fact]
    public void AllowHost_AddsOrigins_ABareHostMeaningTheStartUrlsScheme_NoPortMeaningAnyPort()
    {
        var o = Parse("http://a.test/", "--allow-host", "b.test", "--allow-host", "c.test:81", "--allow-host", "[::1]:8080",
            "--allow-host", "https://secure.test", "--allow-host", "HTTPS://one.test:8443/");
        Assert.True(o.IsInScope(new Uri("http://b.test:9999/")));
        Assert.False(o.IsInScope(new Uri("https://b.test/"))); // a bare host: the start URL's scheme only
        Assert.True(o.IsInScope(new Uri("http://c.test:81/")));
        Assert.False(o.IsInScope(new Uri("http://c.test/")));
        Assert.False(o.IsInScope(new Uri("https://c.test:81/")));
        Assert.True(o.IsInScope(new Uri("http://a.test/"))); // the start URL's origin stays in
        Assert.False(o.IsInScope(new Uri("https://a.test/")));
        Assert.True(o.IsInScope(new Uri("http://[::1]:8080/")));
        Assert.True(o.IsInScope(new Uri("https://secure.test/")));
        Assert.True(o.IsInScope(new Uri("https://secure.test:8443/")));
        Assert.False(o.IsInScope(new Uri("http://secure.test/")));
        Assert.True(o.IsInScope(new Uri("https://one.test:8443/")));
        Assert.False(o.IsInScope(new Uri("https://one.test/")));
        Assert.Equal(["b.test", "c.test:81", "[::1]:8080", "https://secure.test", "https://one.test:8443"], o.AllowHosts.Select(a => a.ToString()));
    }

    [Theory]
    [InlineData("ftp://a.test")]
    [InlineData("a.test/path")]
    [InlineData("http://")]
    [InlineData("http://a.test/x")]
    [InlineData("user@a.test")]
    public void AllowHost_ThatIsNotAnOrigin_IsRefused(string value)
    {
        Assert.Null(CrawlOptions.Parse(["--allow-host", value], out string? error));
        Assert.Equal($"--allow-host takes [http:// or https://]HOST[:PORT], such as https://cdn.example.org or 127.0.0.1:8080, not '{value}'", error);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    public void Help_IsNullWithoutAnError(string arg)
    {
        Assert.Null(CrawlOptions.Parse([arg], out string? error));
        Assert.Null(error);
    }

    [Theory]
    [InlineData("--concurrency=-1", "--concurrency takes a whole number")]
    [InlineData("--delay=-2", "--delay takes seconds")]
    [InlineData("--timeout=0", "--timeout takes seconds (more than 0")]
    [InlineData("--no-robots=yes", "--no-robots takes no value")]
    [InlineData("--user-agent=", "--user-agent must be non-empty")]
    [InlineData("mailto:a@b.c", "the start URL must be an http or https URL")]
    [InlineData("ftp://example.org/", "the start URL must be an http or https URL")]
    [InlineData("http://", "the start URL must be an http or https URL")]
    public void BadValues_SayWhatIsWrong(string arg, string message)
    {
        Assert.Null(CrawlOptions.Parse([arg], out string? error));
        Assert.Contains(message, error);
    }

    [Theory]
    [InlineData("localhost:8080", "http://localhost:8080/")]
    [InlineData("Example.ORG/a/../b#x", "http://example.org/b")]
    [InlineData("HTTPS://example.org", "https://example.org/")]
    public void StartUrls_WithoutASchemeAreHttp_AndAreNormalized(string arg, string expected) =>
        Assert.Equal(expected, Parse(arg).StartUrl!.AbsoluteUri);

    [Fact]
    public void TwoStartUrls_AreRefused()
    {
        Assert.Null(CrawlOptions.Parse(["a.test", "b.test"], out string? error));
        Assert.Equal("one start URL only, not also 'b.test'", error);
    }
}
