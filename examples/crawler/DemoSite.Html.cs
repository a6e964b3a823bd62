using System.Net;
using System.Text;

namespace Evergreen.Crawler;

public sealed partial class DemoSite
{
    private static readonly string[] Filler =
    [
        "Evergreen runs thousands of tasklets on one thread, each written as plain sequential code.",
        "Every call that would block parks the tasklet and lets the loop run the others.",
        "A crawler is the classic case: most of its time is spent waiting for the network.",
        "The original Evergreen mapped a fetch function over URLs with a pool of one hundred tasklets.",
        "Here sixty-four workers pull URLs from one frontier and never fetch the same page twice.",
        "Politeness means few requests at a time to one host, and obeying robots.txt.",
        "Cancel scopes put deadlines on any wait: connecting, the first byte, the whole fetch.",
        "Structured concurrency keeps the workers inside one block: none outlives the crawl.",
        "libuv does the waiting; the tasklets only say what they wait for.",
        "When one fetch fails, the record says why, and the crawl goes on.",
        "Links are parsed with AngleSharp, the way a browser would parse them.",
        "A link trap would go on forever; a depth or page limit stops it.",
    ];

    /// <summary>The HTML of <paramref name="page"/>, its links written as <see cref="DemoLink.Href"/> says.</summary>
    internal static string Render(DemoPage page)
    {
        var html = new StringBuilder(2048);
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>")
            .Append(WebUtility.HtmlEncode(page.Title)).Append("</title>\n");
        if (page.BaseHref is { } baseHref) html.Append("<base href=\"").Append(Attr(baseHref)).Append("\">\n");
        foreach (var link in page.Links)
        {
            string? rel = link.Kind switch
            {
                DemoLinkKind.Next => "next",
                DemoLinkKind.Prev => "prev",
                DemoLinkKind.Stylesheet => "stylesheet",
                _ => null,
            };
            if (rel is not null) html.Append("<link rel=\"").Append(rel).Append("\" href=\"").Append(Attr(link.Href)).Append("\">\n");
        }
        html.Append("</head>\n<body>\n<header><h1 id=\"top\">").Append(WebUtility.HtmlEncode(page.Title)).Append("</h1></header>\n<main id=\"main\">\n");
        AppendFiller(html, page.Seed);
        html.Append("<ul>\n");
        int n = 0;
        foreach (var link in page.Links)
        {
            switch (link.Kind)
            {
                case DemoLinkKind.Anchor:
                    html.Append("<li><a href=\"").Append(Attr(link.Href)).Append("\">").Append(WebUtility.HtmlEncode(LinkText(link, n++))).Append("</a></li>\n");
                    break;
                case DemoLinkKind.Sloppy:
                    // Unquoted attribute, unclosed <b>, a stray </div>: browsers (and AngleSharp) cope.
                    html.Append("<li><div><a href=").Append(link.Href).Append(" class=prev>").Append(LinkText(link, n++)).Append("<b></div>\n");
                    break;
            }
        }
        html.Append("</ul>\n");
        bool hasMap = false;
        foreach (var link in page.Links)
        {
            if (link.Kind != DemoLinkKind.Area) continue;
            if (!hasMap) html.Append("<img src=\"/files/logo.png\" usemap=\"#map\" alt=\"map\">\n<map name=\"map\">\n");
            hasMap = true;
            html.Append("<area shape=\"rect\" coords=\"0,0,10,10\" href=\"").Append(Attr(link.Href)).Append("\" alt=\"").Append(Attr(LinkText(link, n++))).Append("\">\n");
        }
        if (hasMap) html.Append("</map>\n");
        html.Append("</main>\n<footer><p>Generated for the Evergreen crawler demo.</p></footer>\n</body>\n</html>\n");
        return html.ToString();
    }

    private static string Attr(string value) => WebUtility.HtmlEncode(value);

    private static string LinkText(DemoLink link, int n) => link.Target is { } target && target.StartsWith('/') ? (target == "/" ? "Home" : target) : link.Href;

    private static void AppendFiller(StringBuilder html, int seed)
    {
        // A few paragraphs chosen by the seed: pages of 1.5 to 3 KB, like small real pages.
        uint state = (uint)seed * 2654435761u + 1;
        int paragraphs = 2 + (int)(state % 3);
        for (int p = 0; p < paragraphs; p++)
        {
            html.Append("<p>");
            for (int s = 0; s < 4; s++)
            {
                state = state * 1664525u + 1013904223u;
                html.Append(Filler[(state >> 8) % (uint)Filler.Length]).Append(' ');
            }
            html.Append("</p>\n");
        }
    }

    /// <summary>The body of a 404 (or of an unknown path): small HTML with a way home.</summary>
    internal static string NotFoundHtml(string path) =>
        $"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Not found</title></head>\n" +
        $"<body><h1>404 Not Found</h1><p>There is no {WebUtility.HtmlEncode(path)} here.</p><p><a href=\"/\">Home</a></p></body></html>\n";
}
