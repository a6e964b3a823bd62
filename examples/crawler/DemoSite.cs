using System.Net;
using System.Text;
using Evergreen.IO.Http;

namespace Evergreen.Crawler;

/// <summary>
/// The crawler's built-in demo site: a few thousand generated pages served by an
/// <see cref="HttpServer"/> on 127.0.0.1 in the crawler's own loop, with everything a crawler
/// meets (redirects, 404s, a 500, robots.txt, non-HTML files, a slow subtree, a link trap,
/// off-site links; see DemoSite.Pages.cs). It logs every request, and knows the exact set of
/// URLs a correct crawl must fetch (<see cref="ExpectedUrls"/>). Its static part can be written
/// to a directory for a file server (<see cref="WriteStaticSite"/>). A handle: dispose it.
/// </summary>
public sealed partial class DemoSite : IAsyncDisposable
{
    private readonly List<DemoRequest> _requests = [];
    private Dictionary<string, DemoPage>? _pages;
    private HttpServer? _server;
    private Tasklet? _serving;
    private Uri? _root;

    /// <summary>A demo site of <paramref name="pages"/> content pages (plus sections, files, traps...); <see cref="Start"/> serves it.</summary>
    public DemoSite(int pages = 3000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pages, 1);
        Pages = pages;
    }

    /// <summary>How many content pages it has.</summary>
    public int Pages { get; }

    /// <summary>The home page's URL (http://127.0.0.1:port/), once started.</summary>
    public Uri RootUrl => _root ?? throw new InvalidOperationException("the demo site has no URL before Start: start it first");

    /// <summary>Every request received so far, in order (the Host header and the request target).</summary>
    public IReadOnlyList<DemoRequest> Requests => _requests;

    /// <summary>Told of each request as it arrives, before it is answered (tests use it to act mid-crawl). Loop thread.</summary>
    public Action<DemoRequest>? OnRequest { get; set; }

    /// <summary>
    /// Listens on 127.0.0.1 (port 0: a free one) and serves in a tasklet of the current loop until
    /// disposed. Not a yield point. Returns the bound endpoint.
    /// </summary>
    public IPEndPoint Start()
    {
        if (_server is not null) throw new InvalidOperationException("the demo site is started once");
        var server = new HttpServer(new HttpServerOptions { ServerName = "Evergreen demo" });
        server.MapGet("/*", HandleAsync);
        var endPoint = server.Listen(new IPEndPoint(IPAddress.Loopback, 0));
        _server = server;
        _root = new Uri($"http://127.0.0.1:{endPoint.Port}/");
        _pages = BuildPages(Pages, dynamic: true, offSiteSameServer: $"http://localhost:{endPoint.Port}/offsite.html");
        _serving = Tasklet.Spawn(async () => await server.ServeAsync(), "demo site");
        return endPoint;
    }

    /// <summary>
    /// The exact set of absolute URLs a crawl from <see cref="RootUrl"/> must fetch, for these
    /// limits and the default host scope (this server's host and port). Valid while the crawl
    /// takes in fewer URLs than its <see cref="CrawlOptions.MaxPages"/>.
    /// </summary>
    public IReadOnlySet<string> ExpectedUrls(int maxDepth = 10, bool obeyRobots = true, int maxRedirects = 10)
    {
        string origin = RootUrl.GetLeftPart(UriPartial.Authority);
        return ExpectedPaths(Pages, maxDepth, obeyRobots, maxRedirects).Select(path => origin + path).ToHashSet();
    }

    /// <summary>
    /// The on-site paths (path and query) a crawl of a demo site of <paramref name="pages"/>
    /// pages must fetch from "/", for these limits and the default host scope; they do not depend
    /// on the port it is served on.
    /// </summary>
    public static IReadOnlySet<string> ExpectedPaths(int pages, int maxDepth = 10, bool obeyRobots = true, int maxRedirects = 10)
    {
        var site = BuildPages(pages, dynamic: true, offSiteSameServer: "http://localhost/offsite.html");
        return Expect(path => Resolve(site, path, dynamic: true), maxDepth, obeyRobots, maxRedirects).Fetched.ToHashSet();
    }

    /// <summary>
    /// The on-site paths (path and query) a crawl of a demo site of <paramref name="pages"/> pages
    /// meets but must not fetch, because robots.txt disallows them (links and redirects into
    /// /private/), within <paramref name="maxDepth"/>.
    /// </summary>
    public static IReadOnlySet<string> DisallowedPaths(int pages, int maxDepth = 10)
    {
        var site = BuildPages(pages, dynamic: true, offSiteSameServer: "http://localhost/offsite.html");
        return Expect(path => Resolve(site, path, dynamic: true), maxDepth, obeyRobots: true, maxRedirects: 10).Disallowed.ToHashSet();
    }

    private async ValueTask HandleAsync(HttpServerRequest request, HttpServerReply reply)
    {
        string target = request.Query.Length > 0 ? $"{request.Path}?{request.Query}" : request.Path;
        var logged = new DemoRequest(request.Headers.Get("Host"), target);
        _requests.Add(logged);
        OnRequest?.Invoke(logged);
        if (target == "/robots.txt")
        {
            await reply.SendTextAsync(200, RobotsText + "\n");
            return;
        }
        var page = Resolve(_pages!, target, dynamic: true);
        if (page is null)
        {
            await reply.SendTextAsync(404, NotFoundHtml(request.Path), "text/html; charset=utf-8");
            return;
        }
        if (page.DelayMs > 0) await Tasklet.Sleep(TimeSpan.FromMilliseconds(page.DelayMs));
        if (page.Location is { } location)
        {
            await reply.RedirectAsync(location, page.Status);
        }
        else if (page.Body is { } body)
        {
            await reply.SendAsync(page.Status, body, page.ContentType);
        }
        else
        {
            await reply.SendAsync(page.Status, Encoding.UTF8.GetBytes(Render(page)), page.ContentType);
        }
    }

    /// <summary>
    /// Stops serving: closes the server at once (requests still in flight, such as a slow page a
    /// stopped crawl left behind, are cut) and waits for its tasklet. A yield point.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (_server is not { } server) return;
        _server = null;
        await server.CloseAsync(TimeSpan.Zero);
        if (_serving is { } serving) await serving; // its failure, if any, surfaces here
        await server.DisposeAsync();
    }
}
