// Link extraction with AngleSharp, the same in the Evergreen crawler and in the plain-.NET
// baseline of bench/crawl (which compiles this file as it is and calls it from many threads).
// So it depends on AngleSharp and the BCL only, and keeps no shared mutable state: each thread
// gets its own parser.

using AngleSharp.Dom;
using AngleSharp.Html.Parser;

namespace Evergreen.Crawler;

/// <summary>
/// The links a crawler follows from an HTML page: <c>a[href]</c>, <c>area[href]</c> and
/// <c>link[href]</c> whose <c>rel</c> has <c>next</c> or <c>prev</c>, resolved against the page's
/// <c>&lt;base href&gt;</c> (or its URL), normalized by <see cref="UrlNormalizer"/>, without
/// duplicates, in document order. Thread-safe.
/// </summary>
public static class LinkExtractor
{
    // An HtmlParser is cheap to use but not documented as thread-safe; one per thread is.
    [ThreadStatic] private static HtmlParser? t_parser;

    private const string LinkSelector = "a[href], area[href], link[href]";

    /// <summary>
    /// Parses <paramref name="html"/> (served at <paramref name="pageUrl"/>) and returns its
    /// followable links. Malformed HTML is parsed the way a browser would (HTML5 error recovery);
    /// hrefs that do not normalize to an http(s) URL are skipped.
    /// </summary>
    public static IReadOnlyList<Uri> Extract(string html, Uri pageUrl)
    {
        var parser = t_parser ??= new HtmlParser(new HtmlParserOptions { IsScripting = false });
        using var document = parser.ParseDocument(html);
        Uri baseUri = BaseUri(document, pageUrl);

        var links = new List<Uri>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var element in document.QuerySelectorAll(LinkSelector))
        {
            if (element.LocalName == "link" && !HasNextOrPrev(element.GetAttribute("rel"))) continue;
            string? href = element.GetAttribute("href");
            if (href is null) continue;
            if (UrlNormalizer.Normalize(href, baseUri) is { } url && seen.Add(url.AbsoluteUri)) links.Add(url);
        }
        return links;
    }

    /// <summary>
    /// The document's base URL (HTML §2.4.1): the first <c>base</c> element with an href,
    /// resolved against the page URL; the page URL when there is none or it does not parse.
    /// Only http(s) bases are taken: a crawler has nothing to resolve against anything else.
    /// </summary>
    private static Uri BaseUri(IDocument document, Uri pageUrl)
    {
        var element = document.QuerySelector("base[href]");
        if (element?.GetAttribute("href") is not { } href) return pageUrl;
        try
        {
            if (Uri.TryCreate(pageUrl, href.Trim(), out var resolved)
                && (resolved.Scheme == Uri.UriSchemeHttp || resolved.Scheme == Uri.UriSchemeHttps))
            {
                return resolved;
            }
        }
        catch (Exception e) when (e is UriFormatException or ArgumentException or InvalidOperationException)
        {
        }
        return pageUrl;
    }

    /// <summary>Whether a <c>rel</c> attribute (space-separated, case-insensitive tokens) has next or prev.</summary>
    private static bool HasNextOrPrev(string? rel)
    {
        if (rel is null) return false;
        foreach (var token in rel.Split([' ', '\t', '\n', '\r', '\f'], StringSplitOptions.RemoveEmptyEntries))
        {
            if (token.Equals("next", StringComparison.OrdinalIgnoreCase) || token.Equals("prev", StringComparison.OrdinalIgnoreCase)) return true;
        }
        return false;
    }
}
