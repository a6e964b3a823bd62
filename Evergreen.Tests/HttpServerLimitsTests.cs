using System.Text;
using Evergreen.IO.Http;
using static Evergreen.Tests.HttpServerTests;
using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

// HttpServer's request limits and malformed requests: each gets its status, with
// Connection: close, and the connection then closes (after the client could read the answer).
public class HttpServerLimitsTests
{
    private static HttpServer Server(HttpServerOptions? options = null) => new HttpServer(options)
        .MapGet("/*", (request, reply) => reply.SendTextAsync(200, "ok"))
        .MapPost("/*", (request, reply) => reply.SendTextAsync(200, $"got {request.Body.Length}"));

    /// <summary>Sends <paramref name="raw"/> on a fresh connection and expects <paramref name="status"/>, then the close.</summary>
    private static async Task<RawResponse> Rejected(Running http, string raw, int status)
    {
        await using var client = await http.ConnectAsync();
        await client.SendAsync(raw);
        var r = await client.ReadResponseAsync();
        Assert.Equal(status, r.Status);
        Assert.Equal("close", r.Header("Connection"));
        Assert.True(await client.ServerClosedAsync());
        return r;
    }

    [Fact]
    public void RequestLine_OverTheLimit_Is414()
    {
        Run(async () =>
        {
            await using var http = Start(Server(new HttpServerOptions { MaxRequestLineBytes = 100 }));
            var r = await Rejected(http, $"GET /{new string('a', 200)} HTTP/1.1\r\nHost: t\r\n\r\n", 414);
            Assert.Equal("URI Too Long", r.Reason);
            // Just under the limit is fine.
            Assert.Equal("ok", (await http.GetAsync("/" + new string('a', 70))).Text);
            Assert.Equal(1, http.Server.RequestCount);
            await http.StopAsync();
        });
    }

    [Fact]
    public void HeaderLine_OverTheLineLimit_Is431()
    {
        Run(async () =>
        {
            await using var http = Start(Server(new HttpServerOptions { MaxRequestLineBytes = 100 }));
            await Rejected(http, $"GET / HTTP/1.1\r\nHost: t\r\nX-Long: {new string('b', 200)}\r\n\r\n", 431);
            await http.StopAsync();
        });
    }

    [Fact]
    public void Head_OverMaxHeadBytes_Is431()
    {
        Run(async () =>
        {
            await using var http = Start(Server(new HttpServerOptions { MaxHeadBytes = 1024 }));
            var fields = new StringBuilder();
            for (int i = 0; i < 30; i++) fields.Append($"X-Field-{i}: {new string('c', 40)}\r\n"); // each line short, all of them too long
            await Rejected(http, $"GET / HTTP/1.1\r\nHost: t\r\n{fields}\r\n", 431);
            await http.StopAsync();
        });
    }

    [Fact]
    public void MoreHeadersThanMaxHeaderCount_Is431()
    {
        Run(async () =>
        {
            await using var http = Start(Server(new HttpServerOptions { MaxHeaderCount = 10 }));
            var fields = new StringBuilder();
            for (int i = 0; i < 11; i++) fields.Append($"X-{i}: v\r\n");
            await Rejected(http, $"GET / HTTP/1.1\r\n{fields}\r\n", 431);
            var exactly = new StringBuilder("Host: t\r\n");
            for (int i = 0; i < 9; i++) exactly.Append($"X-{i}: v\r\n");
            await using var client = await http.ConnectAsync();
            await client.SendAsync($"GET / HTTP/1.1\r\n{exactly}\r\n");
            Assert.Equal(200, (await client.ReadResponseAsync()).Status);
            await http.StopAsync();
        });
    }

    [Fact]
    public void ContentLength_OverMaxBodyBytes_Is413_BeforeTheBodyIsRead()
    {
        Run(async () =>
        {
            await using var http = Start(Server(new HttpServerOptions { MaxBodyBytes = 1000 }));
            // The body is never sent: the answer must come from the head alone.
            await Rejected(http, "POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n\r\n", 413);
            // At the limit exactly it is read.
            await using var client = await http.ConnectAsync();
            await client.SendAsync("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n" + new string('d', 1000));
            Assert.Equal("got 1000", (await client.ReadResponseAsync()).Text);
            await http.StopAsync();
        });
    }

    [Fact]
    public void ContentLength_OverTheLimit_WithTheBodyAlreadySent_ClientStillReads413()
    {
        Run(async () =>
        {
            await using var http = Start(Server(new HttpServerOptions { MaxBodyBytes = 1000 }));
            // The body follows at once and is never read: the server's close must not reset the reply away.
            await Rejected(http, "POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n" + new string('e', 100_000), 413);
            await http.StopAsync();
        });
    }

    [Fact]
    public void ErrorReply_TheServerHalfCloses_AndReadsWhatTheClientStillSends_UntilItCloses()
    {
        Run(async () =>
        {
            await using var http = Start(Server(new HttpServerOptions { MaxBodyBytes = 1000 }));
            await using var client = await http.ConnectAsync();
            await client.SendAsync("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n" + new string('e', 5000));
            var r = await client.ReadResponseAsync();
            Assert.Equal(413, r.Status);
            Assert.True(await client.ServerClosedAsync()); // the server's side is done...
            Assert.Equal(1, http.Server.ConnectionCount);  // ...but it still reads, so no reset can eat the reply
            await client.SendAsync(new string('e', 50_000));  // the rest of the body is taken and dropped
            await client.DisposeAsync();
            await http.StopAsync(TimeSpan.FromSeconds(30)); // the lingering connection ends on the client's close
            Assert.Equal(0, http.Server.ConnectionCount);
        });
    }

    [Fact]
    public void Expect100Continue_WithContentLengthOverTheLimit_Is413_Without100()
    {
        Run(async () =>
        {
            await using var http = Start(Server(new HttpServerOptions { MaxBodyBytes = 10 }));
            await Rejected(http, "POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n", 413);
            await Rejected(http, "POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: something-else\r\n\r\n", 417);
            await http.StopAsync();
        });
    }

    [Fact]
    public void ChunkedBody_GrowingPastMaxBodyBytes_Is413()
    {
        Run(async () =>
        {
            await using var http = Start(Server(new HttpServerOptions { MaxBodyBytes = 100 }));
            await Rejected(http, "POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n" + new string('f', 64) + "\r\n40\r\n" + new string('f', 64) + "\r\n0\r\n\r\n", 413);
            await using var client = await http.ConnectAsync();
            await client.SendAsync("POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n32\r\n" + new string('f', 50) + "\r\n32\r\n" + new string('f', 50) + "\r\n0\r\n\r\n");
            Assert.Equal("got 100", (await client.ReadResponseAsync()).Text); // exactly the limit
            await http.StopAsync();
        });
    }

    [Fact]
    public void ChunkSize_OverMaxBodyBytes_Is413_AtOnce_WithoutWaitingForItsData()
    {
        Run(async () =>
        {
            // A timeout longer than the test's patience: a 408 would mean the chunk was waited for.
            await using var http = Start(Server(new HttpServerOptions { MaxBodyBytes = 100, RequestHeadTimeout = TimeSpan.FromSeconds(5) }));
            var r = await Rejected(http, "POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n", 413);
            Assert.Contains("a chunk of 4096 bytes", r.Text);
            // A later chunk that would pass the limit, after one that fits.
            await Rejected(http, "POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n" + new string('f', 64) + "\r\n40\r\n", 413);
            await http.StopAsync();
        });
    }

    [Theory]
    [InlineData("GET /\r\nHost: t\r\n\r\n")]                                        // no version
    [InlineData("GET / HTTP/1.1 extra\r\nHost: t\r\n\r\n")]                         // a bad version
    [InlineData("G(T / HTTP/1.1\r\nHost: t\r\n\r\n")]                               // the method is not a token
    [InlineData("GET / HTTP/2.0\r\nHost: t\r\n\r\n")]                               // not HTTP/1.x
    [InlineData("GET nopath HTTP/1.1\r\nHost: t\r\n\r\n")]                          // a target that is no path
    public void MalformedRequestLine_Is400(string raw)
    {
        Run(async () =>
        {
            await using var http = Start(Server());
            await Rejected(http, raw, 400);
            Assert.Equal(0, http.Server.RequestCount);
            await http.StopAsync();
        });
    }

    [Theory]
    [InlineData("Host: t\r\nNo colon here\r\n")]
    [InlineData("Host: t\r\nBad Name: v\r\n")]
    [InlineData("Host: t\r\nX-Folded: a\r\n  folded\r\n")]
    [InlineData("Host: t\r\nName : v\r\n")]
    [InlineData("Host: a\r\nHost: b\r\n")]
    public void MalformedHeader_Is400(string fields)
    {
        Run(async () =>
        {
            await using var http = Start(Server());
            await Rejected(http, $"GET / HTTP/1.1\r\n{fields}\r\n", 400);
            await http.StopAsync();
        });
    }

    [Theory]
    [InlineData("Content-Length: 12abc\r\n\r\n")]
    [InlineData("Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!")]
    [InlineData("Content-Length: -1\r\n\r\n")]
    public void BadContentLength_Is400(string tail)
    {
        Run(async () =>
        {
            await using var http = Start(Server());
            await Rejected(http, $"POST /up HTTP/1.1\r\nHost: t\r\n{tail}", 400);
            await http.StopAsync();
        });
    }

    [Theory]
    [InlineData("zz\r\nhello\r\n0\r\n\r\n")]        // a chunk size that is not hex
    [InlineData("5\r\nhelloXX0\r\n\r\n")]            // no CRLF after the data
    public void MalformedChunk_Is400(string body)
    {
        Run(async () =>
        {
            await using var http = Start(Server());
            await Rejected(http, $"POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n{body}", 400);
            await http.StopAsync();
        });
    }

    [Fact]
    public void UnsupportedTransferEncoding_Is501()
    {
        Run(async () =>
        {
            await using var http = Start(Server());
            await Rejected(http, "POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501);
            await http.StopAsync();
        });
    }

    [Fact]
    public void BodyCutShortByTheClient_EndsTheConnection_WithoutAReport()
    {
        Run(async () =>
        {
            await using var http = Start(Server());
            await using var client = await http.ConnectAsync();
            await client.SendAsync("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 50\r\n\r\nonly twenty bytes...");
            await client.Stream.ShutdownAsync(); // the client gives up mid-body
            var r = await client.ReadResponseAsync();
            Assert.Equal(400, r.Status);
            Assert.True(await client.ServerClosedAsync());
            await http.StopAsync();
        });
    }

    [Fact]
    public void RequestBody_ThatStalls_Gets408()
    {
        Run(async () =>
        {
            await using var http = Start(Server(new HttpServerOptions { RequestHeadTimeout = Ms(100) }));
            await Rejected(http, "POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 50\r\n\r\nsome but not all", 408);
            await http.StopAsync();
        });
    }

    [Fact]
    public void Options_RefuseNonsense()
    {
        var options = new HttpServerOptions();
        Assert.Throws<ArgumentOutOfRangeException>(() => options.MaxRequestLineBytes = 10);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.MaxHeaderCount = 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.MaxBodyBytes = -1);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.KeepAliveTimeout = TimeSpan.Zero);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.RequestHeadTimeout = TimeSpan.FromSeconds(-1));
        Assert.Throws<ArgumentException>(() => options.ServerName = "bad\r\nname");
        Assert.Throws<ArgumentOutOfRangeException>(() => options.MaxBodyBytesInFlight = -1);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.SendTimeout = TimeSpan.Zero);
        Assert.Equal(64 * 1024 * 1024, options.MaxBodyBytesInFlight);
        Assert.Equal(TimeSpan.FromSeconds(60), options.SendTimeout);
        Assert.Equal(1024 * 1024, options.MaxBodyBytes);
        Assert.Equal(8192, options.MaxRequestLineBytes);
    }
}
