// URL normalization: the crawler's notion of "the same page". Two hrefs that normalize to the same
// string are one URL to the frontier, so this decides what is fetched twice and what is not.
//
// This file is compiled as it is into the plain-.NET baseline crawler of bench/crawl, so it
// depends on the BCL only (no Evergreen type) and is thread-safe (static, no state).

namespace Evergreen.Crawler;

/// <summary>
/// Turns an href found in a page into the absolute URL the crawler fetches and de-duplicates on:
/// resolved against the page's (or its <c>&lt;base href&gt;</c>'s) URL, http and https only, the
/// fragment dropped, the scheme and host lowercased, the default port dropped, dot segments
/// removed, the query kept. Anything that is not such a URL gives null; it never throws.
/// </summary>
public static class UrlNormalizer
{
    /// <summary>
    /// URLs longer than this are dropped. A link trap can build ever longer URLs, and servers
    /// refuse request lines past a few KiB (8 KiB in nginx and Evergreen's HttpServer) anyway.
    /// </summary>
    public const int MaxLength = 4096;

    /// <summary>
    /// The normalized absolute form of <paramref name="href"/> as seen from a page at
    /// <paramref name="baseUri"/>, or null when it is not an http(s) URL worth fetching
    /// (<c>mailto:</c>, <c>javascript:</c>, an empty host, garbage, over <see cref="MaxLength"/>).
    /// </summary>
    public static Uri? Normalize(string href, Uri baseUri)
    {
        if (href is null || baseUri is null || !baseUri.IsAbsoluteUri) return null;
        string cleaned = StripWhitespace(href);
        if (cleaned.Length > MaxLength) return null;
        try
        {
            // System.Uri does most of the work for http(s): it resolves relative references
            // (RFC 3986 §5.2), lowercases scheme and host, removes dot segments and knows the
            // default ports. GetComponents then rebuilds the URL without the fragment, and without
            // the port when it is the scheme's default.
            if (!Uri.TryCreate(baseUri, cleaned, out var resolved)) return null;
            if (resolved.Scheme != Uri.UriSchemeHttp && resolved.Scheme != Uri.UriSchemeHttps) return null;
            if (resolved.Host.Length == 0) return null;
            string normalized = resolved.GetComponents(UriComponents.HttpRequestUrl | UriComponents.UserInfo, UriFormat.UriEscaped);
            if (normalized.Length > MaxLength) return null;
            return new Uri(normalized, UriKind.Absolute);
        }
        catch (Exception e) when (e is UriFormatException or ArgumentException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    /// <summary>
    /// What a browser does to an href before parsing it (WHATWG URL): leading and trailing C0
    /// controls and spaces go, and so do tabs and newlines anywhere inside.
    /// </summary>
    private static string StripWhitespace(string href)
    {
        int start = 0, end = href.Length;
        while (start < end && href[start] <= ' ') start++;
        while (end > start && href[end - 1] <= ' ') end--;
        if (href.AsSpan(start, end - start).IndexOfAny('\t', '\n', '\r') < 0) return href.Substring(start, end - start);
        var kept = new System.Text.StringBuilder(end - start);
        for (int i = start; i < end; i++)
        {
            char c = href[i];
            if (c is not ('\t' or '\n' or '\r')) kept.Append(c);
        }
        return kept.ToString();
    }
}
