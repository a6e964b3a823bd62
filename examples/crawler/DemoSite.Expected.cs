using System.Text;

namespace Evergreen.Crawler;

public sealed partial class DemoSite
{
    /// <summary>
    /// What a correct crawl from "/" fetches, computed from the site's data (the links' targets,
    /// the redirects' targets), not from its HTML: a breadth-first walk with the crawler's rules.
    /// Every on-site URL is taken in once; links past <paramref name="maxDepth"/> are not;
    /// a redirect's target keeps its source's depth, and a redirect back into its own chain (or
    /// past <paramref name="maxRedirects"/>) stops there; off-site URLs are never fetched, nor
    /// (when <paramref name="obeyRobots"/>) those robots.txt disallows. The tree shape of the site
    /// (see DemoSite.Pages.cs) makes this the same set a concurrent crawl fetches.
    /// </summary>
    /// <returns>
    /// The paths fetched ("/s/0/p1.html"), in the order of the walk, and those taken in but not
    /// fetched because robots.txt disallows them.
    /// </returns>
    internal static (List<string> Fetched, List<string> Disallowed) Expect(Func<string, DemoPage?> resolve, int maxDepth, bool obeyRobots, int maxRedirects)
    {
        var fetched = new List<string>();
        var disallowed = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal) { "/" };
        var queue = new Queue<(string Path, int Depth, int Redirects, List<string> Chain)>();
        queue.Enqueue(("/", 0, 0, []));
        while (queue.Count > 0)
        {
            var (path, depth, redirects, chain) = queue.Dequeue();
            if (obeyRobots && IsDisallowedByRobots(path))
            {
                disallowed.Add(path);
                continue;
            }
            fetched.Add(path);
            var page = resolve(path);
            if (page is null || page.Status >= 400) continue; // 404 and 500 pages are not parsed
            if (page.RedirectTarget is { } target)
            {
                var newChain = new List<string>(chain) { path };
                if (newChain.Contains(target) || newChain.Count > maxRedirects) continue; // "redirect loop", "too many redirects"
                if (target.StartsWith('/') && seen.Add(target)) queue.Enqueue((target, depth, redirects + 1, newChain));
                continue;
            }
            if (!page.IsHtml || depth + 1 > maxDepth) continue;
            foreach (var link in page.Links)
            {
                if (link.Kind == DemoLinkKind.Stylesheet || link.Target is not { } linked || !linked.StartsWith('/')) continue;
                if (seen.Add(linked)) queue.Enqueue((linked, depth + 1, 0, []));
            }
        }
        return (fetched, disallowed);
    }

    /// <summary>
    /// The on-site paths (path and query) a crawl from "/" of the static site of
    /// <paramref name="pages"/> pages (as <see cref="WriteStaticSite"/> writes it) must fetch.
    /// </summary>
    public static IReadOnlySet<string> ExpectedStaticPaths(int pages, int maxDepth = 10, bool obeyRobots = true)
    {
        var site = BuildPages(pages, dynamic: false, offSiteSameServer: StaticOffSiteUrl);
        return Expect(path => Resolve(site, path, dynamic: false), maxDepth, obeyRobots, maxRedirects: 10).Fetched.ToHashSet();
    }

    /// <summary>The static site's link to "another host" of the same machine (nginx's port is not known when it is written).</summary>
    private const string StaticOffSiteUrl = "http://localhost/offsite.html";

    /// <summary>
    /// Writes the static part of a demo site of <paramref name="pages"/> content pages into
    /// <paramref name="directory"/> (created if needed), for a file server such as nginx:
    /// directories get index.html, pages with a query are served by their file, missing pages
    /// are simply not written (404). Not the redirects, the 500, the slow subtree or the
    /// calendar, which need a server; the trap is 64 levels deep. Blocking file I/O: call it
    /// before the crawl, not from a loop that is serving.
    /// </summary>
    /// <returns>The on-site paths a crawl from "/" with the default options must fetch (<see cref="ExpectedStaticPaths"/>).</returns>
    public static IReadOnlySet<string> WriteStaticSite(string directory, int pages)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pages, 1);
        var site = BuildPages(pages, dynamic: false, offSiteSameServer: StaticOffSiteUrl);
        var root = Path.GetFullPath(directory);
        Directory.CreateDirectory(root);
        var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
        File.WriteAllText(Path.Combine(root, "robots.txt"), RobotsText + "\n", utf8);
        foreach (var page in site.Values)
        {
            if (page.Path.Contains('?') || page.Location is not null || page.Status != 200) continue;
            string relative = page.Path.TrimStart('/');
            if (relative.Length == 0 || relative.EndsWith('/')) relative += "index.html";
            string file = Path.Combine(root, relative.Replace('/', Path.DirectorySeparatorChar));
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            if (page.Body is { } body) File.WriteAllBytes(file, body);
            else File.WriteAllText(file, Render(page), utf8);
        }
        return ExpectedStaticPaths(pages);
    }
}
