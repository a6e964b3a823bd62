using System.Net;
using System.Text;
using Evergreen.IO;
using Evergreen.IO.Http;
using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

// HttpServer driven by raw TcpStream clients sending exact bytes: routing, HEAD, reply framing
// (Content-Length, chunked, held-back first write), handler failures, request bodies.
// Connections (keep-alive, timeouts, closing) are in HttpServerConnectionTests.
public class HttpServerTests
{
    /// <summary>
    /// A server listening on 127.0.0.1 and serving in a tasklet, and how to stop it; disposing it
    /// stops it too, so a test that fails midway still ends its loop at once.
    /// </summary>
    internal sealed class Running(HttpServer server, IPEndPoint endPoint, Tasklet serving) : IAsyncDisposable
    {
        public HttpServer Server { get; } = server;

        public IPEndPoint EndPoint { get; } = endPoint;

        public Task<RawHttpClient> ConnectAsync() => RawHttpClient.ConnectAsync(EndPoint);

        /// <summary>One request on a connection of its own.</summary>
        public async Task<RawResponse> GetAsync(string target, string method = "GET", string extra = "")
        {
            await using var client = await ConnectAsync();
            return await client.RequestAsync(target, method, extra);
        }

        public async Task StopAsync(TimeSpan? drain = null)
        {
            await Server.CloseAsync(drain ?? TimeSpan.Zero);
            await serving;
        }

        public async ValueTask DisposeAsync()
        {
            if (!serving.IsDone) await StopAsync();
        }
    }

    internal static Running Start(HttpServer server)
    {
        var endPoint = server.Listen(new IPEndPoint(IPAddress.Loopback, 0));
        var serving = Tasklet.Spawn(() => server.ServeAsync(), "serving http");
        return new Running(server, endPoint, serving);
    }

    private static HttpHandler Text(string text) => (_, reply) => reply.SendTextAsync(200, text);

    [Fact]
    public void Get_ExactPath_ContentLengthReplyWithDateAndServer()
    {
        Run(async () =>
        {
            await using var http = Start(new HttpServer().MapGet("/hello", Text("hello")));
            var r = await http.GetAsync("/hello");
            Assert.Equal(200, r.Status);
            Assert.Equal("OK", r.Reason);
            Assert.Equal("hello", r.Text);
            Assert.Equal("5", r.Header("Content-Length"));
            Assert.Equal("text/plain; charset=utf-8", r.Header("Content-Type"));
            Assert.Equal("Evergreen", r.Header("Server"));
            Assert.True(DateTime.TryParse(r.Header("Date"), out _), r.Header("Date"));
            Assert.Null(r.Header("Transfer-Encoding"));
            Assert.Null(r.Header("Connection")); // HTTP/1.1 keeps alive without saying so
            Assert.Equal(1, http.Server.RequestCount);
            await http.StopAsync();
        });
    }

    [Fact]
    public void Routing_ExactBeatsPrefix_LongestPrefixWins_RouteRestIsTheTail()
    {
        Run(async () =>
        {
            HttpHandler echo(string name) => (request, reply) => reply.SendTextAsync(200, $"{name}|{request.Path}|{request.RouteRest}|{request.Query}");
            await using var http = Start(new HttpServer()
                .MapGet("/*", echo("root"))
                .MapGet("/a/*", echo("a"))
                .MapGet("/a/b/*", echo("ab"))
                .MapGet("/a/b/exact", echo("exact")));
            Assert.Equal("exact|/a/b/exact||", (await http.GetAsync("/a/b/exact")).Text);
            Assert.Equal("ab|/a/b/c/d|c/d|", (await http.GetAsync("/a/b/c/d")).Text);
            Assert.Equal("ab|/a/b||", (await http.GetAsync("/a/b")).Text);       // the bare prefix
            Assert.Equal("a|/a/bc|bc|", (await http.GetAsync("/a/bc")).Text);     // not under "/a/b/"
            Assert.Equal("root|/x/y|x/y|q=1&r", (await http.GetAsync("/x/y?q=1&r")).Text);
            Assert.Equal("exact|/a/b/exact||z", (await http.GetAsync("/a/b/exact?z")).Text); // the query is split off first
            await http.StopAsync();
        });
    }

    [Fact]
    public void Routing_UnknownPath_404_KnownPathOtherMethod_405WithAllow()
    {
        Run(async () =>
        {
            await using var http = Start(new HttpServer()
                .MapGet("/thing", Text("got"))
                .MapPost("/thing", Text("posted"))
                .Map("DELETE", "/other", Text("deleted")));
            var missing = await http.GetAsync("/nothing");
            Assert.Equal(404, missing.Status);
            var wrong = await http.GetAsync("/thing", "PUT", "Content-Length: 0\r\n");
            Assert.Equal(405, wrong.Status);
            Assert.Equal("GET, HEAD, POST", wrong.Header("Allow"));
            var other = await http.GetAsync("/other");
            Assert.Equal(405, other.Status);
            Assert.Equal("DELETE", other.Header("Allow"));
            Assert.Equal("deleted", (await http.GetAsync("/other", "DELETE")).Text);
            Assert.Equal("posted", (await http.GetAsync("/thing", "POST", "Content-Length: 0\r\n")).Text);
            Assert.Equal(5, http.Server.RequestCount);
            await http.StopAsync();
        });
    }

    [Fact]
    public void Routing_AbsoluteFormTarget_RoutesByItsPath()
    {
        Run(async () =>
        {
            await using var http = Start(new HttpServer().MapGet("/p", (request, reply) => reply.SendTextAsync(200, request.Path + "?" + request.Query)));
            Assert.Equal("/p?k=v", (await http.GetAsync("http://example.com:8080/p?k=v")).Text);
            await http.StopAsync();
        });
    }

    [Fact]
    public void Map_BadPathsAndDuplicates_AreRefused()
    {
        var server = new HttpServer().MapGet("/a", Text("a"));
        Assert.Throws<InvalidOperationException>(() => server.MapGet("/a", Text("again")));
        Assert.Throws<ArgumentException>(() => server.MapGet("a", Text("no slash")));
        Assert.Throws<ArgumentException>(() => server.MapGet("/a*", Text("star inside")));
        Assert.Throws<ArgumentException>(() => server.MapGet("/a?x", Text("query")));
        Assert.Throws<ArgumentException>(() => server.Map("G ET", "/b", Text("bad method")));
        server.Map("HEAD", "/a", Text("own head")); // an explicit HEAD replaces the implicit one
    }

    [Fact]
    public void Head_OnMapGet_SameHeadersAsGet_NoBody_ConnectionStillInStep()
    {
        Run(async () =>
        {
            await using var http = Start(new HttpServer()
                .MapGet("/doc", Text("twelve bytes"))
                .MapGet("/stream", async (_, reply) =>
                {
                    await reply.WriteAsync(Encoding.ASCII.GetBytes("one "));
                    await reply.WriteAsync(Encoding.ASCII.GetBytes("two"));
                }));
            await using var client = await http.ConnectAsync();
            var head = await client.RequestAsync("/doc", "HEAD");
            Assert.Equal(200, head.Status);
            Assert.Equal("12", head.Header("Content-Length"));
            Assert.Equal("text/plain; charset=utf-8", head.Header("Content-Type"));
            var streamed = await client.RequestAsync("/stream", "HEAD");
            Assert.Equal("chunked", streamed.Header("Transfer-Encoding"));
            // Had a body byte been sent, this reply would not parse.
            var get = await client.RequestAsync("/doc");
            Assert.Equal("twelve bytes", get.Text);
            await http.StopAsync();
        });
    }

    [Fact]
    public void Head_MappedOnItsOwn_RunsItsOwnHandler()
    {
        Run(async () =>
        {
            await using var http = Start(new HttpServer()
                .MapGet("/x", Text("from get"))
                .Map("HEAD", "/x", (_, reply) =>
                {
                    reply.Headers.Set("X-Head", "own");
                    return reply.EndAsync();
                }));
            var r = await http.GetAsync("/x", "HEAD");
            Assert.Equal("own", r.Header("X-Head"));
            Assert.Equal("0", r.Header("Content-Length"));
            await http.StopAsync();
        });
    }

    [Fact]
    public void WriteAsync_OneWrite_IsSentWithContentLength()
    {
        Run(async () =>
        {
            await using var http = Start(new HttpServer().MapGet("/one", (_, reply) => reply.WriteAsync(Encoding.ASCII.GetBytes("a single write"))));
            var r = await http.GetAsync("/one");
            Assert.Equal("14", r.Header("Content-Length"));
            Assert.Null(r.Header("Transfer-Encoding"));
            Assert.Equal("a single write", r.Text);
            await http.StopAsync();
        });
    }

    [Fact]
    public void WriteAsync_SeveralWrites_AreChunked_OneChunkPerWrite()
    {
        Run(async () =>
        {
            await using var http = Start(new HttpServer().MapGet("/many", async (_, reply) =>
            {
                reply.Headers.Set("Content-Type", "text/plain");
                await reply.WriteAsync(Encoding.ASCII.GetBytes("first,"));
                await reply.WriteAsync(Encoding.ASCII.GetBytes("second,"));
                await reply.WriteAsync(new byte[40_000]); // past the copy limit: written as is
                await reply.WriteAsync(Encoding.ASCII.GetBytes("last"));
                // not ended: the server ends it with the last chunk
            }));
            await using var client = await http.ConnectAsync();
            var r = await client.RequestAsync("/many");
            Assert.Equal("chunked", r.Header("Transfer-Encoding"));
            Assert.Null(r.Header("Content-Length"));
            Assert.Equal([6, 7, 40_000, 4], r.ChunkSizes);
            Assert.Equal("first,second," + new string('\0', 40_000) + "last", Encoding.ASCII.GetString(r.Body));
            Assert.Equal(200, (await client.RequestAsync("/many")).Status); // the last chunk ended it cleanly
            await http.StopAsync();
        });
    }

    [Fact]
    public void WriteAsync_FirstWriteOver64KiB_IsChunked_ByteExact()
    {
        Run(async () =>
        {
            var data = new byte[200_000];
            new Random(6).NextBytes(data);
            await using var http = Start(new HttpServer().MapGet("/big", (_, reply) => reply.WriteAsync(data)));
            var r = await http.GetAsync("/big");
            Assert.Equal("chunked", r.Header("Transfer-Encoding"));
            Assert.Equal(data, r.Body);
            await http.StopAsync();
        });
    }

    [Fact]
    public void WriteAsync_WithContentLengthSet_StreamsWithoutChunks()
    {
        Run(async () =>
        {
            await using var http = Start(new HttpServer().MapGet("/sized", async (_, reply) =>
            {
                reply.Headers.Set("Content-Length", "10");
                await reply.WriteAsync(Encoding.ASCII.GetBytes("01234"));
                await reply.WriteAsync(Encoding.ASCII.GetBytes("56789"));
            }));
            var r = await http.GetAsync("/sized");
            Assert.Equal("10", r.Header("Content-Length"));
            Assert.Equal(1, r.Count("Content-Length"));
            Assert.Null(r.Header("Transfer-Encoding"));
            Assert.Equal("0123456789", r.Text);
            await http.StopAsync();
        });
    }

    [Fact]
    public void Handler_ThatWritesNothing_GetsAnEmpty200()
    {
        Run(async () =>
        {
            await using var http = Start(new HttpServer().MapGet("/nothing", (_, _) => default));
            var r = await http.GetAsync("/nothing");
            Assert.Equal(200, r.Status);
            Assert.Equal("0", r.Header("Content-Length"));
            await http.StopAsync();
        });
    }

    [Fact]
    public void Status204_And_Redirect_AreFramedAsTheRfcSays()
    {
        Run(async () =>
        {
            await using var http = Start(new HttpServer()
                .MapGet("/none", (_, reply) => reply.SendAsync(204, default, ""))
                .MapGet("/moved", (_, reply) => reply.RedirectAsync("/elsewhere?x=1", 301)));
            await using var client = await http.ConnectAsync();
            var none = await client.RequestAsync("/none");
            Assert.Equal(204, none.Status);
            Assert.Null(none.Header("Content-Length"));
            var moved = await client.RequestAsync("/moved");
            Assert.Equal(301, moved.Status);
            Assert.Equal("/elsewhere?x=1", moved.Header("Location"));
            await http.StopAsync();
        });
    }

    [Fact]
    public void Http11_WithoutHost_Is400()
    {
        Run(async () =>
        {
            await using var http = Start(new HttpServer().MapGet("/", Text("x")));
            await using var client = await http.ConnectAsync();
            await client.SendAsync("GET / HTTP/1.1\r\n\r\n");
            var r = await client.ReadResponseAsync();
            Assert.Equal(400, r.Status);
            Assert.Equal("close", r.Header("Connection"));
            Assert.True(await client.ServerClosedAsync());
            await http.StopAsync();
        });
    }

    [Fact]
    public void Handler_ThatThrows_Gets500_IsReportedWithTheRequestLine_AndTheConnectionGoesOn()
    {
        var reports = new List<LoopExceptionEventArgs>();
        Run(async () =>
        {
            await using var http = Start(new HttpServer()
                .MapGet("/boom", (_, _) => throw new InvalidOperationException("the handler broke"))
                .MapGet("/ok", Text("fine")));
            await using var client = await http.ConnectAsync();
            var r = await client.RequestAsync("/boom?x=1");
            Assert.Equal(500, r.Status);
            Assert.Equal("fine", (await client.RequestAsync("/ok")).Text);
            await http.StopAsync();
        }, reports);
        var report = Assert.Single(reports);
        Assert.Equal("the handler broke", report.Exception.Message);
        Assert.Contains("GET /boom?x=1 HTTP/1.1", report.Source);
    }

    [Fact]
    public void Handler_ThatThrowsAfterTheHead_ClosesTheConnection_AndIsReported()
    {
        var reports = new List<LoopExceptionEventArgs>();
        Run(async () =>
        {
            await using var http = Start(new HttpServer().MapGet("/half", async (_, reply) =>
            {
                await reply.WriteAsync(Encoding.ASCII.GetBytes("part one "));
                await reply.WriteAsync(Encoding.ASCII.GetBytes("part two"));
                throw new InvalidOperationException("midway");
            }));
            await using var client = await http.ConnectAsync();
            await client.SendAsync("GET /half HTTP/1.1\r\nHost: t\r\n\r\n");
            var raw = Encoding.ASCII.GetString(await client.ReadToEndAsync());
            Assert.StartsWith("HTTP/1.1 200 OK\r\n", raw);
            Assert.Contains("part two", raw);
            Assert.DoesNotContain("\r\n0\r\n\r\n", raw); // no last chunk: the client sees a cut body
            await http.StopAsync();
        }, reports);
        Assert.Equal("midway", Assert.Single(reports).Exception.Message);
    }

    [Fact]
    public void Handler_ContentLengthLongerThanTheBody_IsReported_AndTheConnectionClosed()
    {
        var reports = new List<LoopExceptionEventArgs>();
        Run(async () =>
        {
            await using var http = Start(new HttpServer().MapGet("/short", async (_, reply) =>
            {
                reply.Headers.Set("Content-Length", "100");
                await reply.WriteAsync(Encoding.ASCII.GetBytes("only this"));
            }));
            await using var client = await http.ConnectAsync();
            await client.SendAsync("GET /short HTTP/1.1\r\nHost: t\r\n\r\n");
            var raw = Encoding.ASCII.GetString(await client.ReadToEndAsync());
            Assert.Contains("Content-Length: 100\r\n", raw);
            Assert.EndsWith("only this", raw);
            await http.StopAsync();
        }, reports);
        Assert.IsType<InvalidOperationException>(Assert.Single(reports).Exception);
    }

    [Fact]
    public void Post_ContentLengthBody_ReachesTheHandler()
    {
        Run(async () =>
        {
            await using var http = Start(new HttpServer().MapPost("/echo", (request, reply) =>
                reply.SendTextAsync(200, $"{request.Headers.Get("Content-Type")}:{Encoding.UTF8.GetString(request.Body.Span)}")));
            await using var client = await http.ConnectAsync();
            await client.SendAsync("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: text/x\r\nContent-Length: 11\r\n\r\nhello world");
            Assert.Equal("text/x:hello world", (await client.ReadResponseAsync()).Text);
            await http.StopAsync();
        });
    }

    [Fact]
    public void Post_ChunkedBody_ReachesTheHandlerDechunked()
    {
        Run(async () =>
        {
            await using var http = Start(new HttpServer().MapPost("/echo", (request, reply) => reply.SendAsync(200, request.Body, "application/octet-stream")));
            await using var client = await http.ConnectAsync();
            await client.SendAsync("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n");
            Assert.Equal("hello world", (await client.ReadResponseAsync()).Text);
            Assert.Equal(200, (await client.RequestAsync("/echo", "POST", "Content-Length: 0\r\n")).Status); // still in step
            await http.StopAsync();
        });
    }

    [Fact]
    public void Expect100Continue_TheServerSays100_BeforeTheBodyIsSent()
    {
        Run(async () =>
        {
            await using var http = Start(new HttpServer().MapPost("/upload", (request, reply) => reply.SendTextAsync(200, $"got {request.Body.Length}")));
            await using var client = await http.ConnectAsync();
            await client.SendAsync("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\nExpect: 100-continue\r\n\r\n");
            var interim = await client.ReadResponseAsync();
            Assert.Equal(100, interim.Status);
            await client.SendAsync("abcdef");
            Assert.Equal("got 6", (await client.ReadResponseAsync()).Text);
            await http.StopAsync();
        });
    }
}
