using Evergreen.Crawler;

namespace Evergreen.Tests;

/// <summary>examples/crawler's link extraction (AngleSharp): which links a crawler follows.</summary>
public class LinkExtractorTests
{
    private static readonly Uri Page = new("http://site.test/dir/page.html");

    private static string[] Links(string html, Uri? page = null) =>
        LinkExtractor.Extract(html, page ?? Page).Select(u => u.AbsoluteUri).ToArray();

    [Fact]
    public void AnchorsAreasAndLinkRelNextPrev_AreFollowed_InDocumentOrder()
    {
        string html = """
            <html><head>
              <link rel="stylesheet" href="style.css">
              <link rel="next" href="p2.html">
              <link rel="Prev Alternate" href="p0.html">
              <link rel="icon" href="favicon.ico">
            </head><body>
              <a href="a.html">a</a>
              <img src="img.png" usemap="#m"><map name="m"><area href="area.html" alt=""></map>
              <a name="no-href">no href</a>
              <script src="app.js"></script>
              <iframe src="frame.html"></iframe>
              <a href="/b.html">b</a>
            </body></html>
            """;
        Assert.Equal(
            ["http://site.test/dir/p2.html", "http://site.test/dir/p0.html", "http://site.test/dir/a.html", "http://site.test/dir/area.html", "http://site.test/b.html"],
            Links(html));
    }

    [Fact]
    public void ABaseHref_ChangesWhatRelativeLinksResolveAgainst()
    {
        string html = """<html><head><base href="/other/base/"></head><body><a href="x.html">x</a><a href="../y.html">y</a><a href="/z.html">z</a></body></html>""";
        Assert.Equal(["http://site.test/other/base/x.html", "http://site.test/other/y.html", "http://site.test/z.html"], Links(html));
    }

    [Fact]
    public void ABaseHrefOnAnotherHost_IsHonoured_AndAnUnusableOneIsIgnored()
    {
        Assert.Equal(["http://cdn.test/x.html"], Links("""<base href="http://cdn.test/"><a href="x.html">x</a>"""));
        Assert.Equal(["http://site.test/dir/x.html"], Links("""<base href="mailto:me@site.test"><a href="x.html">x</a>"""));
        Assert.Equal(["http://site.test/dir/x.html"], Links("""<base target="_blank"><a href="x.html">x</a>"""));
    }

    [Fact]
    public void Duplicates_FragmentsAndDotSegments_CollapseToOneLinkEach()
    {
        string html = """
            <a href="x.html">1</a><a href="./x.html#top">2</a><a href="../dir/x.html">3</a>
            <a href="X.html">other case: another path</a><a href="x.html?q=1">a query: another URL</a>
            """;
        Assert.Equal(["http://site.test/dir/x.html", "http://site.test/dir/X.html", "http://site.test/dir/x.html?q=1"], Links(html));
    }

    [Fact]
    public void NonHttpLinks_AreSkipped_AndEntitiesInHrefsAreDecoded()
    {
        string html = """
            <a href="mailto:a@b.c">m</a><a href="javascript:go()">j</a><a href="tel:1">t</a>
            <a href="page.html?a=1&amp;b=2">amp</a><a href="  spaced.html  ">s</a>
            """;
        Assert.Equal(["http://site.test/dir/page.html?a=1&b=2", "http://site.test/dir/spaced.html"], Links(html));
    }

    [Fact]
    public void MalformedHtml_IsParsedTheWayABrowserWould()
    {
        string html = "<html><body><div><a href=unquoted.html class=x>u<b></div><p><a href='single.html'>s</a>"
            + "<table><a href=\"in-table.html\">t</a></table><a href=\"unclosed.html\">never closed";
        Assert.Equal(
            ["http://site.test/dir/unquoted.html", "http://site.test/dir/single.html", "http://site.test/dir/in-table.html", "http://site.test/dir/unclosed.html"],
            Links(html));
        Assert.Empty(Links(""));
        Assert.Empty(Links("<<<>>> not html at all \0 \uFFFF"));
    }

    [Fact]
    public void Extract_IsSafeFromManyThreadsAtOnce()
    {
        // The plain-.NET baseline crawler of bench/crawl parses on many threads.
        string html = string.Concat(Enumerable.Range(0, 50).Select(i => $"<a href=\"p{i}.html\">{i}</a>"));
        var results = new int[64];
        Parallel.For(0, results.Length, i =>
        {
            for (int n = 0; n < 20; n++) results[i] = LinkExtractor.Extract(html, new Uri($"http://t{i}.test/")).Count;
        });
        Assert.All(results, count => Assert.Equal(50, count));
    }
}
