using System.Text;
using Evergreen.Crawler;

namespace Evergreen.Tests;

/// <summary>examples/crawler's robots.txt (RFC 9309), with the RFC's own examples.</summary>
public class RobotsTxtTests
{
    // RFC 9309 §5.1, "Simple Example".
    private const string Rfc5_1 = """
        User-Agent: *
        Disallow: *.gif$
        Disallow: /example/
        Allow: /publications/

        User-Agent: foobot
        Disallow:/
        Allow:/example/page.html
        Allow:/example/allowed.gif

        User-Agent: barbot
        User-Agent: bazbot
        Disallow: /example/page.html

        User-Agent: quxbot

        EOF
        """;

    [Theory]
    [InlineData("foobot", "/example/page.html", true)]
    [InlineData("foobot", "/example/allowed.gif", true)]
    [InlineData("foobot", "/", false)]
    [InlineData("foobot", "/publications/", false)]
    [InlineData("FooBot/2.1 (+https://foo.example)", "/other", false)] // product token, any case
    [InlineData("barbot", "/example/page.html", false)]
    [InlineData("bazbot", "/example/page.html", false)]
    [InlineData("bazbot", "/example/other.html", true)]
    [InlineData("bazbot", "/x.gif", true)]
    [InlineData("quxbot", "/example/page.html", true)]
    [InlineData("quxbot", "/x.gif", true)]
    [InlineData("otherbot", "/example/page.html", false)]
    [InlineData("otherbot", "/images/x.gif", false)]
    [InlineData("otherbot", "/images/x.gif?v=2", true)] // "$": the path must end there
    [InlineData("otherbot", "/publications/paper.html", true)]
    [InlineData("otherbot", "/", true)]
    public void Rfc9309_SimpleExample(string userAgent, string path, bool allowed) =>
        Assert.Equal(allowed, RobotsTxt.Parse(Rfc5_1, userAgent).IsAllowed(path));

    [Fact]
    public void Rfc9309_LongestMatch_AndAllowWinsATie()
    {
        // §5.2: the most specific (longest) match wins.
        var robots = RobotsTxt.Parse("User-Agent: foobot\nAllow: /example/page/\nDisallow: /example/page/disallowed.gif\n", "foobot");
        Assert.True(robots.IsAllowed("/example/page/"));
        Assert.True(robots.IsAllowed("/example/page/other.gif"));
        Assert.False(robots.IsAllowed("/example/page/disallowed.gif"));

        // §2.2.2: equivalent allow and disallow rules: allow.
        var tie = RobotsTxt.Parse("User-agent: *\nDisallow: /page\nAllow: /page\nDisallow: /p*e\nAllow: /pa*\n", "bot");
        Assert.True(tie.IsAllowed("/page"));
        Assert.True(tie.IsAllowed("/page2"));
    }

    [Theory]
    [InlineData("/this/path/exactly$", "/this/path/exactly", false)]
    [InlineData("/this/path/exactly$", "/this/path/exactly/", true)]
    [InlineData("/this/*/exactly", "/this/any/thing/exactly", false)]
    [InlineData("/this/*/exactly", "/this/exactly", true)]
    [InlineData("/*.php$", "/index.php", false)]
    [InlineData("/*.php$", "/index.php5", true)]
    [InlineData("/fish*", "/fish.html", false)]
    [InlineData("/fish*", "/Fish.html", true)] // paths are case-sensitive
    [InlineData("/a$b", "/a$b", false)]         // '$' only anchors at the end
    [InlineData("/**/x", "/y/x", false)]
    [InlineData("*", "/anything", false)]
    public void SpecialCharacters_StarAndDollar(string pattern, string path, bool allowed) =>
        Assert.Equal(allowed, RobotsTxt.Parse($"User-agent: *\nDisallow: {pattern}\n", "bot").IsAllowed(path));

    [Theory]
    [InlineData("/foo/bar/ツ", "/foo/bar/%E3%83%84")]
    [InlineData("/foo/bar/%E3%83%84", "/foo/bar/%e3%83%84")]
    [InlineData("/foo/bar/%62%61%7A", "/foo/bar/baz")]
    [InlineData("/foo/bar/baz", "/foo/bar/%62%61%7a")]
    [InlineData("/foo/bar?baz=quz", "/foo/bar?baz=quz")]
    public void PercentEncoding_IsNormalizedOnBothSides(string pattern, string path)
    {
        // RFC 9309 §2.2.2's table: non-ASCII compares as UTF-8 %XX, escaped unreserved characters as themselves.
        Assert.False(RobotsTxt.Parse($"User-agent: *\nDisallow: {pattern}\n", "bot").IsAllowed(path));
    }

    [Fact]
    public void GroupsNamingTheCrawler_BeatStar_AndAreMerged()
    {
        string text = "User-agent: *\nDisallow: /\n\nUser-agent: mybot\nDisallow: /a\n\nUser-agent: other\nDisallow: /b\n\nuser-AGENT: MyBot\nDisallow: /c\n";
        var robots = RobotsTxt.Parse(text, "MyBot/1.0");
        Assert.False(robots.IsAllowed("/a"));
        Assert.True(robots.IsAllowed("/b"));
        Assert.False(robots.IsAllowed("/c"));
        Assert.True(robots.IsAllowed("/d")); // the "*" group does not apply to a named crawler
        Assert.Equal(2, robots.RuleCount);
    }

    [Fact]
    public void CommentsUnknownKeysStrayRulesAndCrLf_AreHandled()
    {
        string text = "\uFEFFDisallow: /before-any-group\r\n# a comment\r\nUser-agent: * # everyone\r\nSitemap: https://x.test/sitemap.xml\r\n"
            + "Crawl-delay: 10\r\nDisallow: /private # trailing comment\r\nDisallow: relative-path-ignored\r\nnonsense line\r\nDisallow:\r\n";
        var robots = RobotsTxt.Parse(text, "bot");
        Assert.True(robots.IsAllowed("/before-any-group"));
        Assert.False(robots.IsAllowed("/private/x"));
        Assert.True(robots.IsAllowed("/relative-path-ignored"));
        Assert.Equal(1, robots.RuleCount);
    }

    [Fact]
    public void RobotsTxtItself_IsAlwaysAllowed()
    {
        Assert.True(RobotsTxt.Parse("User-agent: *\nDisallow: /\n", "bot").IsAllowed("/robots.txt"));
        Assert.True(RobotsTxt.DisallowAll.IsAllowed("/robots.txt"));
        Assert.False(RobotsTxt.DisallowAll.IsAllowed("/"));
    }

    [Theory]
    [InlineData(200, "User-agent: *\nDisallow: /x\n", "/x", false)]
    [InlineData(200, "User-agent: *\nDisallow: /x\n", "/y", true)]
    [InlineData(404, "User-agent: *\nDisallow: /\n", "/x", true)]  // unavailable: allow all (§2.3.1.3)
    [InlineData(401, null, "/x", true)]
    [InlineData(429, null, "/x", true)]
    [InlineData(500, null, "/x", false)] // unreachable: disallow all (§2.3.1.4)
    [InlineData(503, null, "/x", false)]
    public void ForStatus_FollowsRfc9309(int status, string? body, string path, bool allowed) =>
        Assert.Equal(allowed, RobotsTxt.ForStatus(status, body, "bot").IsAllowed(path));

    [Fact]
    public void OnlyTheFirst500KiB_AreParsed()
    {
        var text = new StringBuilder("User-agent: *\nDisallow: /early\n");
        while (Encoding.UTF8.GetByteCount(text.ToString()) < RobotsTxt.MaxBytes) text.Append("# padding padding padding padding padding\n");
        text.Append("Disallow: /late\n");
        var robots = RobotsTxt.Parse(text.ToString(), "bot");
        Assert.False(robots.IsAllowed("/early"));
        Assert.True(robots.IsAllowed("/late"));
    }

    [Fact]
    public void ManyStars_MatchInPolynomialTime()
    {
        var robots = RobotsTxt.Parse("User-agent: *\nDisallow: /" + string.Concat(Enumerable.Repeat("*a", 200)) + "b\n", "bot");
        Assert.True(robots.IsAllowed("/" + new string('a', 3000)));
    }

    [Fact]
    public void ProductToken_IsTheLeadingLettersHyphensAndUnderscores()
    {
        Assert.Equal("EvergreenCrawler", RobotsTxt.ProductToken(CrawlOptions.DefaultUserAgent));
        Assert.Equal("my_bot-x", RobotsTxt.ProductToken("my_bot-x/2"));
        Assert.Equal("", RobotsTxt.ProductToken("/1.0"));
    }
}
