namespace Evergreen.Crawler;

/// <summary>
/// One resource of the generated demo site, as data: what it answers and, for HTML, which links
/// it shows and where each must lead. The HTML is rendered from <see cref="Links"/>, and the
/// expected crawl is computed from the same list's <see cref="DemoLink.Target"/>s, not by parsing
/// the HTML, so the crawler's own parsing is checked rather than trusted.
/// </summary>
internal sealed class DemoPage(string path)
{
    /// <summary>Path and query, as requested ("/s/3/p7.html", "/calendar?month=2024-06").</summary>
    public string Path { get; } = path;

    public int Status { get; init; } = 200;

    public string ContentType { get; init; } = "text/html; charset=utf-8";

    public string Title { get; init; } = "";

    /// <summary>Links in page order; head links (rel next/prev/stylesheet) included.</summary>
    public List<DemoLink> Links { get; } = [];

    /// <summary>The page's &lt;base href&gt;, if it has one.</summary>
    public string? BaseHref { get; init; }

    /// <summary>The Location header of a redirect, as sent (maybe relative).</summary>
    public string? Location { get; init; }

    /// <summary>Where the redirect leads: an on-site path, or an absolute off-site URL.</summary>
    public string? RedirectTarget { get; init; }

    /// <summary>How long the server waits before answering (the slow subtree).</summary>
    public int DelayMs { get; init; }

    /// <summary>The body of a non-HTML resource.</summary>
    public byte[]? Body { get; init; }

    /// <summary>Picks the page's filler text, which gives pages a realistic size.</summary>
    public int Seed { get; init; }

    /// <summary>Whether the demo robots.txt disallows it (the crawler must not fetch it unless robots are off).</summary>
    public bool Disallowed => DemoSite.IsDisallowedByRobots(Path);

    public bool IsHtml => Body is null && Location is null;

    public DemoPage Link(string href, string? target, DemoLinkKind kind = DemoLinkKind.Anchor)
    {
        Links.Add(new DemoLink(href, target, kind));
        return this;
    }
}

/// <summary>How a link appears in the HTML.</summary>
internal enum DemoLinkKind
{
    /// <summary>&lt;a href&gt;</summary>
    Anchor,
    /// <summary>&lt;area href&gt; in an image map.</summary>
    Area,
    /// <summary>&lt;link rel="next"&gt; in the head.</summary>
    Next,
    /// <summary>&lt;link rel="prev"&gt; in the head.</summary>
    Prev,
    /// <summary>&lt;link rel="stylesheet"&gt;: not a link to follow.</summary>
    Stylesheet,
    /// <summary>An &lt;a href&gt; written as sloppy, unquoted, unclosed markup.</summary>
    Sloppy,
}

/// <summary>
/// A link as written in the page (<see cref="Href"/>) and where a correct crawler resolves it
/// (<see cref="Target"/>: an on-site path and query starting with '/', an absolute off-site URL,
/// or null for a link not to follow: mailto, javascript, a stylesheet).
/// </summary>
internal readonly record struct DemoLink(string Href, string? Target, DemoLinkKind Kind);
