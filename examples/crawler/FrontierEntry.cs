namespace Evergreen.Crawler;

/// <summary>
/// One URL the frontier has taken in: its normalized URL, its depth (links from the start URL;
/// a redirect keeps its source's depth), and, when it was reached by redirects, the URLs that
/// redirected to it, oldest first (so a redirect back into the chain is seen as a loop).
/// </summary>
public sealed record FrontierEntry(Uri Url, int Depth, IReadOnlyList<Uri> RedirectChain)
{
    /// <summary>An entry reached by a link (no redirect before it).</summary>
    public FrontierEntry(Uri url, int depth) : this(url, depth, []) { }
}
