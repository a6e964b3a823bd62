using System.Text;
using Evergreen.Crawler;
using Evergreen.IO;
using WebCrawler = Evergreen.Crawler.Crawler;

namespace Evergreen.Tests;

/// <summary>
/// examples/crawler against a server that misbehaves in every way a crawler meets: each fault
/// is one recorded error with its short reason, and the crawl goes on around it.
/// </summary>
public class CrawlerErrorTests
{
    /// <summary>The faults, by path, and the error each must be recorded with (null: fetched fine).</summary>
    private static readonly Dictionary<string, string?> Expected = new()
    {
        ["/"] = null,
        ["/ok.html"] = null,
        ["/after-ok.html"] = null,
        ["/reset"] = "reset",
        ["/slow"] = "timeout: total", // no answer at all within --timeout
        ["/slow-body"] = "timeout: total", // an answer, but not all of it
        ["/big"] = "too large",
        ["/loop/a"] = null,
        ["/loop/b"] = "redirect loop",
        ["/sloppy.html"] = null,
        ["/from-sloppy.html"] = null,
        ["/from-sloppy-2.html"] = null,
        ["/data.bin"] = null,
        ["/image.png"] = null,
        ["/bad-status"] = "malformed: bad status line",
        ["/garbage"] = "malformed: bad status line",
        ["/bad-chunk"] = "malformed: bad chunk size",
        ["/header-flood"] = "malformed: too many headers",
        ["/long-header"] = "malformed: header line too long",
        ["/short-body"] = "malformed: body too short",
        ["/gone"] = "http 410",
    };

    private static async Task<bool> Answer(RawRequest request, IOStream conn)
    {
        switch (request.Target)
        {
            case "/robots.txt":
                await RawHttpServer.Send(conn, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
                return true;
            case "/":
                string links = string.Concat(Expected.Keys.Where(k => k != "/" && !k.Contains("from-sloppy") && k != "/after-ok.html" && k != "/loop/b")
                    .Select(k => $"<a href=\"{k}\">{k}</a>\n"));
                await Html(conn, $"<html><body>{links}</body></html>");
                return true;
            case "/ok.html":
                await Html(conn, "<a href=after-ok.html>after</a>");
                return true;
            case "/after-ok.html" or "/from-sloppy.html" or "/from-sloppy-2.html":
                await Html(conn, "<p>fine</p>");
                return true;
            case "/reset":
                ((TcpStream)conn).CloseWithReset();
                return false;
            case "/slow":
                await Tasklet.Sleep(TimeSpan.FromMinutes(1)); // the server dispose kills it
                return false;
            case "/slow-body":
                await RawHttpServer.Send(conn, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100\r\n\r\n<html>");
                await Tasklet.Sleep(TimeSpan.FromMinutes(1));
                return false;
            case "/big":
                await RawHttpServer.Send(conn, RawHttpServer.WithBody("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n", new byte[300_000]));
                return true;
            case "/loop/a":
                await RawHttpServer.Send(conn, "HTTP/1.1 302 Found\r\nLocation: /loop/b\r\nContent-Length: 0\r\n\r\n");
                return true;
            case "/loop/b":
                await RawHttpServer.Send(conn, "HTTP/1.1 301 Moved Permanently\r\nLocation: a#again\r\nContent-Length: 0\r\n\r\n");
                return true;
            case "/sloppy.html":
                await Html(conn, "<html><body><div><a href=/from-sloppy.html class=x>unquoted<b></div></td><p><a href='/from-sloppy-2.html'>never closed");
                return true;
            case "/data.bin":
                await RawHttpServer.Send(conn, RawHttpServer.WithBody("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n",
                    Encoding.UTF8.GetBytes("<a href=\"/never.html\">not HTML: never parsed</a>")));
                return true;
            case "/image.png":
                await RawHttpServer.Send(conn, RawHttpServer.WithBody("HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n", [0x89, 0x50, 0x4E, 0x47, 13, 10, 26, 10]));
                return true;
            case "/bad-status":
                await RawHttpServer.Send(conn, "HTTP/1.1 abc\r\n\r\n");
                return false;
            case "/garbage":
                await RawHttpServer.Send(conn, "\0\u0001\u0002 binary garbage\r\n\r\n");
                return false;
            case "/bad-chunk":
                await RawHttpServer.Send(conn, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n");
                return false;
            case "/header-flood":
                await RawHttpServer.Send(conn, "HTTP/1.1 200 OK\r\n" + string.Concat(Enumerable.Range(0, 1000).Select(i => $"X-Flood-{i}: {i}\r\n")) + "Content-Length: 0\r\n\r\n");
                return false;
            case "/long-header":
                await RawHttpServer.Send(conn, $"HTTP/1.1 200 OK\r\nX-Long: {new string('x', 20_000)}\r\nContent-Length: 0\r\n\r\n");
                return false;
            case "/short-body":
                await RawHttpServer.Send(conn, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1000\r\n\r\n<html>short");
                return false;
            case "/gone":
                await RawHttpServer.Send(conn, "HTTP/1.1 410 Gone\r\nContent-Type: text/html\r\nContent-Length: 15\r\n\r\n<a href=x>x</a>");
                return true;
            default:
                await RawHttpServer.Send(conn, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
                return true;
        }
    }

    private static Task Html(IOStream conn, string html) =>
        RawHttpServer.Send(conn, RawHttpServer.WithBody("HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n", Encoding.UTF8.GetBytes(html)));

    [Fact]
    public void EachFault_IsOneRecordedError_AndTheCrawlGoesOn()
    {
        TestLoop.Run(async () =>
        {
            await using var server = new RawHttpServer(Answer);
            var options = new CrawlOptions
            {
                StartUrl = new Uri(server.Url("/")),
                Concurrency = 8,
                PerHost = 8,
                Timeout = TimeSpan.FromMilliseconds(700),
                MaxBodyBytes = 100_000,
            };
            var crawler = await WebCrawler.RunAsync(options);

            var byPath = crawler.Records.ToDictionary(r => new Uri(r.Url).PathAndQuery);
            Assert.Equal(Expected.Keys.Order(StringComparer.Ordinal), byPath.Keys.Order(StringComparer.Ordinal));
            foreach (var (path, error) in Expected) Assert.True(error == byPath[path].Error, $"{path}: expected {error ?? "no error"}, recorded {byPath[path].Error ?? "no error"}");

            Assert.Equal(("application/octet-stream", 0), (byPath["/data.bin"].ContentType, byPath["/data.bin"].Links));
            Assert.Equal(("image/png", 8L), (byPath["/image.png"].ContentType, byPath["/image.png"].Bytes));
            Assert.Equal(2, byPath["/sloppy.html"].Links);
            Assert.Equal((410, 0), (byPath["/gone"].Status!.Value, byPath["/gone"].Links)); // an error page is not parsed
            Assert.Null(byPath["/reset"].Status);
            Assert.Equal(302, byPath["/loop/a"].Status);
            Assert.Equal(server.Url("/loop/a"), byPath["/loop/b"].FinalUrl);
            Assert.DoesNotContain(server.Requests, r => r.Target is "/never.html" or "/x");
            Assert.Single(server.Requests, r => r.Target == "/robots.txt"); // 404: everything allowed
            Assert.Equal(Expected.Count + 1, server.Requests.Count); // each URL once (and robots.txt)
            Assert.Equal(Expected.Values.Count(e => e is not null), crawler.Stats.Errors);
        });
    }

    [Fact]
    public void AnUnreachableRobotsTxt_DisallowsTheWholeSite()
    {
        // RFC 9309 §2.3.1.4: a 5xx (or no answer) for robots.txt means "assume complete disallow".
        TestLoop.Run(async () =>
        {
            await using var server = new RawHttpServer(async (request, conn) =>
            {
                await RawHttpServer.Send(conn, request.Target == "/robots.txt"
                    ? "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"
                    : "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 20\r\n\r\n<a href=/b>b</a>    ");
                return true;
            });
            var crawler = await WebCrawler.RunAsync(new CrawlOptions { StartUrl = new Uri(server.Url("/")) });
            Assert.Empty(crawler.Records);
            Assert.Equal(1, crawler.Hosts.Disallowed);
            Assert.Equal(["/robots.txt"], server.Requests.Select(r => r.Target));
        });
    }

    [Fact]
    public void ARedirectedRobotsTxt_IsFollowedOnTheAllowedHost()
    {
        TestLoop.Run(async () =>
        {
            await using var server = new RawHttpServer(async (request, conn) =>
            {
                await RawHttpServer.Send(conn, request.Target switch
                {
                    "/robots.txt" => "HTTP/1.1 301 Moved\r\nLocation: /real-robots.txt\r\nContent-Length: 0\r\n\r\n",
                    "/real-robots.txt" => RawHttpServer.Ok("User-agent: *\nDisallow: /no\n", "Content-Type: text/plain\r\n"),
                    "/" => "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 38\r\n\r\n<a href=/no>no</a><a href=/yes>yes</a>",
                    _ => "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nok",
                });
                return true;
            });
            var crawler = await WebCrawler.RunAsync(new CrawlOptions { StartUrl = new Uri(server.Url("/")) });
            Assert.Equal([server.Url("/"), server.Url("/yes")], crawler.Records.Select(r => r.Url).Order(StringComparer.Ordinal));
            Assert.DoesNotContain(server.Requests, r => r.Target == "/no");
        });
    }
}
