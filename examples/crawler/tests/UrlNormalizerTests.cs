using Evergreen.Crawler;

namespace Evergreen.Tests;

/// <summary>examples/crawler's URL normalization: what counts as "the same URL" to the crawler.</summary>
public class UrlNormalizerTests
{
    private static readonly Uri Page = new("http://Example.COM:80/a/b/page.html?x=1#frag");

    private static string? N(string href) => UrlNormalizer.Normalize(href, Page)?.AbsoluteUri;

    [Theory]
    [InlineData("other.html", "http://example.com/a/b/other.html")]
    [InlineData("./other.html", "http://example.com/a/b/other.html")]
    [InlineData("../c/./d/../e.html", "http://example.com/a/c/e.html")]
    [InlineData("/root.html", "http://example.com/root.html")]
    [InlineData("//cdn.example.org/x.js", "http://cdn.example.org/x.js")]
    [InlineData("?y=2", "http://example.com/a/b/page.html?y=2")]
    [InlineData("", "http://example.com/a/b/page.html?x=1")]
    public void RelativeHrefs_ResolveAgainstThePage(string href, string expected) => Assert.Equal(expected, N(href));

    [Theory]
    [InlineData("#top", "http://example.com/a/b/page.html?x=1")]
    [InlineData("other.html#section-2", "http://example.com/a/b/other.html")]
    [InlineData("HTTP://WWW.Example.ORG/Path/Keeps/Case", "http://www.example.org/Path/Keeps/Case")]
    [InlineData("https://example.com:443/s", "https://example.com/s")]
    [InlineData("http://example.com:8080/p", "http://example.com:8080/p")]
    [InlineData("http://example.com", "http://example.com/")]
    [InlineData("http://example.com/q?b=2&a=1", "http://example.com/q?b=2&a=1")]
    [InlineData("http://[::1]:80/v6", "http://[::1]/v6")]
    public void Normalization_DropsFragmentsAndDefaultPorts_LowercasesSchemeAndHost_KeepsPathCaseAndQuery(string href, string expected) =>
        Assert.Equal(expected, N(href));

    [Theory]
    [InlineData(" \t other.html \n")]
    [InlineData("oth\ter\n.html")]
    public void WhitespaceAroundAndTabsOrNewlinesInside_AreIgnoredAsBrowsersDo(string href) =>
        Assert.Equal("http://example.com/a/b/other.html", N(href));

    [Theory]
    [InlineData("mailto:someone@example.com")]
    [InlineData("javascript:void(0)")]
    [InlineData("ftp://example.com/file")]
    [InlineData("data:text/html,hi")]
    [InlineData("tel:+123")]
    [InlineData("http://")]
    [InlineData("http:///no-host")]
    [InlineData("http://exa mple.com/")]
    [InlineData("http://example.com:99999/")]
    public void NonHttpOrBrokenUrls_AreNull(string href) => Assert.Null(N(href));

    [Fact]
    public void AnOverlongUrl_IsNull_AndGarbageNeverThrows()
    {
        Assert.Null(N("/" + new string('a', UrlNormalizer.MaxLength)));
        Assert.NotNull(N("/" + new string('a', 100)));
        foreach (var garbage in new[] { "\0", "%", "%zz", "http://%41/", "[", "http://[::1", "::::", "\\\\server\\share", new string('/', 10) })
        {
            _ = N(garbage); // null or a URL, never an exception
        }
        Assert.Null(UrlNormalizer.Normalize("x", new Uri("relative/base", UriKind.Relative)));
    }

    [Fact]
    public void SpellingsOfOneUrl_NormalizeToOneString()
    {
        var spellings = new[]
        {
            "http://example.com/a/b/page.html", "page.html#x", "./page.html", "../b/page.html",
            "/a/./b/../b/page.html", "HTTP://EXAMPLE.com:80/a/b/page.html#y",
        };
        Assert.Single(spellings.Select(N).Distinct());
    }
}
