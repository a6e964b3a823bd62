// The demo site's pages, generated deterministically from the page count.
//
// The shape is chosen so that the set of URLs a correct crawl fetches does not depend on timing,
// though 64 workers finish pages in any order: the site is a tree (home, sections, pages, and
// the pages' own children), and a page links only to its ancestors, its siblings, its own
// children, and its ancestors' children. A URL is then always first discovered from its tree
// parent, at its tree depth, whatever order the pages finish in; so the depth limit cuts the
// same URLs on every run. The link trap and the calendar are chains, which keeps the same
// property. Redirect targets are reached only through their redirect.
//
// What is in it: sections of 50 pages with prev/next links (also as <link rel>), fragments, dot
// segments, a query variant, an image map, sloppy markup, a <base href> page, 404s, a 500, 301 and
// 302 redirects (relative and absolute Location, one into the robots-disallowed subtree, one
// off-site, one loop), non-HTML files, a robots.txt disallowing /private/ (linked from every
// section), a slow subtree, an infinite link trap and an infinite calendar, and off-site links
// (one of them to this very server under another host name, so a crawler that strays shows in
// the request log). The static variant (for nginx) leaves out what a file server cannot do:
// redirects, the 500, the slow subtree and the calendar; its trap is 64 levels deep.

using System.Globalization;

namespace Evergreen.Crawler;

public sealed partial class DemoSite
{
    /// <summary>Content pages per section.</summary>
    internal const int PagesPerSection = 50;

    /// <summary>How deep the static site's trap goes (a file tree cannot be infinite).</summary>
    internal const int StaticTrapDepth = 64;

    /// <summary>The off-site URL every variant links to; never fetched.</summary>
    internal const string OffSiteUrl = "https://www.example.org/";

    /// <summary>The demo robots.txt: /private/ is disallowed but for one page.</summary>
    internal const string RobotsText = """
        # The Evergreen demo site. Crawlers must stay out of /private/ (but one page).
        User-agent: *
        Disallow: /private/
        Allow: /private/public.html

        User-agent: BadBot
        Disallow: /
        """;

    /// <summary>Whether the demo robots.txt disallows <paramref name="path"/> (a mirror of <see cref="RobotsText"/>).</summary>
    internal static bool IsDisallowedByRobots(string path) => path.StartsWith("/private/", StringComparison.Ordinal) && path != "/private/public.html";

    /// <summary>How many pages the slow subtree has.</summary>
    internal static int SlowCount(int pages) => Math.Max(10, pages / 50);

    /// <summary>
    /// Generates every finite page of the site. <paramref name="dynamic"/> adds what needs a
    /// server (redirects, the 500, the slow subtree, the calendar); <paramref name="offSiteSameServer"/>
    /// is an absolute URL of this server under another host name.
    /// </summary>
    internal static Dictionary<string, DemoPage> BuildPages(int pages, bool dynamic, string offSiteSameServer)
    {
        var site = new Dictionary<string, DemoPage>(StringComparer.Ordinal);
        DemoPage Add(DemoPage page)
        {
            site.Add(page.Path, page);
            return page;
        }
        int sections = (pages + PagesPerSection - 1) / PagesPerSection;

        var home = Add(new DemoPage("/") { Title = "Evergreen demo site", Seed = 1 });
        home.Link("#main", "/");
        for (int i = 0; i < sections; i++) home.Link($"s/{i}/", $"/s/{i}/");
        home.Link("about/team.html", "/about/team.html")
            .Link("map/north.html", "/map/north.html", DemoLinkKind.Area)
            .Link("/private/", "/private/")
            .Link("/private/public.html", "/private/public.html")
            .Link("trap/", "/trap/")
            .Link("files/report.pdf", "/files/report.pdf")
            .Link("files/logo.png", "/files/logo.png")
            .Link("./files/data.json", "/files/data.json")
            .Link(OffSiteUrl, OffSiteUrl)
            .Link(offSiteSameServer, offSiteSameServer)
            .Link("mailto:crawler@example.org", null)
            .Link("javascript:void(0)", null)
            .Link("/style.css", null, DemoLinkKind.Stylesheet);
        if (dynamic)
        {
            home.Link("slow/", "/slow/")
                .Link("calendar?month=2024-06", "/calendar?month=2024-06")
                .Link("error", "/error")
                .Link("go/docs", "/go/docs")
                .Link("go/private", "/go/private")
                .Link("leave", "/leave")
                .Link("loop/a", "/loop/a");
        }

        for (int i = 0; i < sections; i++) AddSection(site, i, sections, Math.Min(PagesPerSection, pages - i * PagesPerSection), dynamic);

        // The <base href> page: its relative links resolve against /about/staff/, not /about/.
        Add(new DemoPage("/about/team.html") { Title = "Team", BaseHref = "/about/staff/", Seed = 2 })
            .Link("alice.html", "/about/staff/alice.html")
            .Link("bob.html", "/about/staff/bob.html")
            .Link("../index.html", "/about/index.html")
            .Link("/", "/");
        foreach (var name in new[] { "alice", "bob" })
        {
            Add(new DemoPage($"/about/staff/{name}.html") { Title = name, Seed = 3 }).Link("../team.html", "/about/team.html");
        }
        Add(new DemoPage("/about/index.html") { Title = "About", Seed = 4 }).Link("team.html", "/about/team.html").Link("/", "/");
        Add(new DemoPage("/map/north.html") { Title = "North", Seed = 5 }).Link("../", "/");

        // robots.txt: /private/ is off limits, but /private/public.html.
        Add(new DemoPage("/private/") { Title = "Private", Seed = 6 })
            .Link("public.html", "/private/public.html")
            .Link("a.html", "/private/a.html")
            .Link("b.html", "/private/b.html");
        Add(new DemoPage("/private/public.html") { Title = "Public", Seed = 7 }).Link("/", "/");
        Add(new DemoPage("/private/a.html") { Title = "Private A", Seed = 8 }).Link("./", "/private/");
        Add(new DemoPage("/private/b.html") { Title = "Private B", Seed = 9 }).Link("./", "/private/");

        Add(new DemoPage("/files/report.pdf") { ContentType = "application/pdf", Body = DemoFiles.Pdf });
        Add(new DemoPage("/files/logo.png") { ContentType = "image/png", Body = DemoFiles.Png });
        Add(new DemoPage("/files/data.json") { ContentType = "application/json", Body = DemoFiles.Json("site") });
        Add(new DemoPage("/offsite.html") { Title = "Not for crawlers from 127.0.0.1", Seed = 10 });

        // The trap: /trap/1/2/3/... Finite here only in the static variant (Resolve makes the rest).
        Add(TrapPage(0));
        if (!dynamic)
        {
            for (int depth = 1; depth <= StaticTrapDepth; depth++) Add(TrapPage(depth, last: depth == StaticTrapDepth));
            return site;
        }

        Add(new DemoPage("/slow/") { Title = "Slow", Seed = 11 });
        for (int k = 0; k < SlowCount(pages); k++)
        {
            site["/slow/"].Link($"{k}.html", $"/slow/{k}.html");
            Add(new DemoPage($"/slow/{k}.html") { Title = $"Slow {k}", DelayMs = 150 + k * 53 % 250, Seed = k })
                .Link("./", "/slow/").Link("/", "/");
        }
        Add(new DemoPage("/error") { Status = 500, Title = "Internal Server Error", Seed = 12 }).Link("/", "/");
        Add(Redirect("/go/docs", 302, "/docs/", "/docs/"));
        Add(new DemoPage("/docs/") { Title = "Docs", Seed = 13 }).Link("intro.html", "/docs/intro.html").Link("/", "/");
        Add(new DemoPage("/docs/intro.html") { Title = "Intro", Seed = 14 }).Link("./", "/docs/");
        Add(Redirect("/go/private", 302, "/private/from-redirect.html", "/private/from-redirect.html"));
        Add(new DemoPage("/private/from-redirect.html") { Title = "Private", Seed = 15 });
        Add(Redirect("/leave", 302, OffSiteUrl, OffSiteUrl));
        Add(Redirect("/loop/a", 302, "/loop/b", "/loop/b"));
        Add(Redirect("/loop/b", 307, "a", "/loop/a"));
        return site;
    }

    private static void AddSection(Dictionary<string, DemoPage> site, int i, int sections, int count, bool dynamic)
    {
        string dir = $"/s/{i}/";
        var section = new DemoPage(dir) { Title = $"Section {i}", Seed = 100 + i };
        site.Add(dir, section);
        if (i + 1 < sections) section.Link($"../{i + 1}/", $"/s/{i + 1}/", DemoLinkKind.Next);
        if (i > 0) section.Link($"../{i - 1}/", $"/s/{i - 1}/", DemoLinkKind.Prev);
        section.Link("../../", "/").Link("./", dir);
        for (int j = 0; j < count; j++) section.Link($"p{j}.html", $"{dir}p{j}.html");
        section.Link("data.json", $"{dir}data.json").Link($"/private/s{i}.html", $"/private/s{i}.html");
        site.Add($"{dir}data.json", new DemoPage($"{dir}data.json") { ContentType = "application/json", Body = DemoFiles.Json($"section {i}") });
        site.Add($"/private/s{i}.html", new DemoPage($"/private/s{i}.html") { Title = $"Private {i}", Seed = i }.Link("../", "/private/"));

        for (int j = 0; j < count; j++)
        {
            string path = $"{dir}p{j}.html";
            var page = new DemoPage(path) { Title = $"Page {i}.{j}", Seed = i * 1000 + j };
            if (j + 1 < count) page.Link($"p{j + 1}.html", $"{dir}p{j + 1}.html", DemoLinkKind.Next);
            if (j > 0) page.Link($"p{j - 1}.html", $"{dir}p{j - 1}.html", DemoLinkKind.Prev);
            page.Link("/style.css", null, DemoLinkKind.Stylesheet)
                .Link("../../", "/")
                .Link("./", dir)
                .Link($"../{i}/./p{j}.html#top", path);
            if (j + 1 < count) page.Link($"./p{j + 1}.html#intro", $"{dir}p{j + 1}.html");
            if (j > 0) page.Link($"../{i}/p{j - 1}.html", $"{dir}p{j - 1}.html", j % 10 == 9 ? DemoLinkKind.Sloppy : DemoLinkKind.Anchor);
            if (j % 25 == 5) page.Link("https://github.com/saghul/evergreen", "https://github.com/saghul/evergreen");
            if (j % 10 == 1)
            {
                // A query variant: another URL (the query is kept), the same page, one level deeper.
                page.Link($"p{j}.html?view=print&lang=en", $"{dir}p{j}.html?view=print&lang=en");
            }
            if (j % 10 == 7) page.Link($"missing-{j}.html", $"{dir}missing-{j}.html"); // a 404
            if (dynamic && j % 10 == 3)
            {
                page.Link($"old-{j}.html", $"{dir}old-{j}.html");
                site.Add($"{dir}old-{j}.html", Redirect($"{dir}old-{j}.html", 301, $"moved-{j}.html", $"{dir}moved-{j}.html"));
                site.Add($"{dir}moved-{j}.html", new DemoPage($"{dir}moved-{j}.html") { Title = $"Moved {i}.{j}", Seed = j }
                    .Link("./", dir).Link("../../", "/"));
            }
            site.Add(path, page);
            if (j % 10 == 1)
            {
                var print = new DemoPage($"{path}?view=print&lang=en") { Title = page.Title, Seed = page.Seed };
                print.Links.AddRange(page.Links); // a file server ignores the query: the same page
                site.Add(print.Path, print);
            }
        }
    }

    private static DemoPage Redirect(string path, int status, string location, string target) =>
        new(path) { Status = status, Location = location, RedirectTarget = target };

    /// <summary>/trap/ (depth 0), /trap/1/ (1), /trap/1/2/ (2), ...: each links one level deeper.</summary>
    private static DemoPage TrapPage(int depth, bool last = false)
    {
        string path = "/trap/" + string.Concat(Enumerable.Range(1, depth).Select(n => $"{n}/"));
        var page = new DemoPage(path) { Title = $"Trap level {depth}", Seed = 20 + depth };
        if (!last) page.Link($"{depth + 1}/", $"{path}{depth + 1}/", DemoLinkKind.Next).Link($"{depth + 1}/#more", $"{path}{depth + 1}/");
        page.Link("/trap/", "/trap/");
        if (depth > 0) page.Link("../", path[..(path.TrimEnd('/').LastIndexOf('/') + 1)]);
        return page;
    }

    /// <summary>
    /// A page of the dynamic site: the finite ones from <paramref name="site"/>, the trap and
    /// the calendar made on demand; null for a 404.
    /// </summary>
    internal static DemoPage? Resolve(Dictionary<string, DemoPage> site, string pathAndQuery, bool dynamic)
    {
        if (site.TryGetValue(pathAndQuery, out var page)) return page;
        if (!dynamic) return null;
        if (pathAndQuery.StartsWith("/trap/", StringComparison.Ordinal) && pathAndQuery.EndsWith('/'))
        {
            var levels = pathAndQuery[6..^1].Split('/');
            for (int n = 0; n < levels.Length; n++)
            {
                if (levels[n] != (n + 1).ToString(CultureInfo.InvariantCulture)) return null;
            }
            return levels.Length <= 100_000 ? TrapPage(levels.Length) : null;
        }
        if (pathAndQuery.StartsWith("/calendar?month=", StringComparison.Ordinal)
            && DateTime.TryParseExact(pathAndQuery[16..], "yyyy-MM", CultureInfo.InvariantCulture, DateTimeStyles.None, out var month)
            && month.Year is > 1000 and < 9999)
        {
            string prev = month.AddMonths(-1).ToString("yyyy-MM", CultureInfo.InvariantCulture);
            string next = month.AddMonths(1).ToString("yyyy-MM", CultureInfo.InvariantCulture);
            // Query-only relative links: "?month=..." resolves against /calendar.
            return new DemoPage(pathAndQuery) { Title = $"Calendar {month:MMMM yyyy}", Seed = month.Month }
                .Link($"?month={prev}", $"/calendar?month={prev}", DemoLinkKind.Prev)
                .Link($"?month={next}", $"/calendar?month={next}", DemoLinkKind.Next)
                .Link($"?month={prev}", $"/calendar?month={prev}")
                .Link($"?month={next}", $"/calendar?month={next}")
                .Link("/", "/");
        }
        return null;
    }
}
