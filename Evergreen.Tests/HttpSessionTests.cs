using Evergreen.IO.Http;
using static Evergreen.Tests.RawHttpServer;
using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

// HttpSession's protocol paths, against a raw server that sends exact bytes.
public class HttpSessionTests
{
    [Fact]
    public void Get_AContentLengthBody_ReturnsStatusHeadersAndBody_AndSendsTheSessionHeaders()
    {
        Run(async () =>
        {
            await using var server = new RawHttpServer(Always(Ok("hello, tasklets", "Content-Type: Text/Plain; charset=utf-8\r\nX-Thing: 1\r\n")));
            await using var http = new HttpSession();
            var response = await http.GetAsync(server.Url("/a/b?q=1"));
            Assert.Equal(200, response.StatusCode);
            Assert.Equal("OK", response.ReasonPhrase);
            Assert.Equal("HTTP/1.1", response.Version);
            Assert.True(response.IsSuccess);
            Assert.Equal("1", response.Headers.Get("x-thing"));
            Assert.Equal("text/plain", response.ContentType);
            Assert.Equal("utf-8", response.Charset);
            Assert.Equal("hello, tasklets", response.Text);
            Assert.Equal("GET", response.Method);
            Assert.Equal(new Uri(server.Url("/a/b?q=1")), response.Url);
            Assert.Empty(response.RedirectChain);

            var request = Assert.Single(server.Requests);
            Assert.Equal("GET", request.Method);
            Assert.Equal("/a/b?q=1", request.Target);
            Assert.Equal($"127.0.0.1:{server.Port}", request.Headers.Get("Host"));
            Assert.Equal(http.Options.UserAgent, request.Headers.Get("User-Agent"));
            Assert.Equal("gzip, deflate, br", request.Headers.Get("Accept-Encoding"));
            Assert.False(request.Headers.Contains("Content-Length"));
        });
    }

    [Fact]
    public void Get_TheCallersHeaders_AreSent_AndReplaceTheSessionsOwn()
    {
        Run(async () =>
        {
            await using var server = new RawHttpServer(Always(Ok("ok")));
            await using var http = new HttpSession(new HttpSessionOptions { AutomaticDecompression = false });
            var headers = new HttpFields();
            headers.Add("User-Agent", "test-agent/2");
            headers.Add("X-Trace", "abc");
            await http.GetAsync(server.Url(), headers);
            var request = Assert.Single(server.Requests);
            Assert.Equal(["test-agent/2"], request.Headers.GetAll("User-Agent"));
            Assert.Equal("abc", request.Headers.Get("X-Trace"));
            Assert.False(request.Headers.Contains("Accept-Encoding"));
        });
    }

    [Fact]
    public void Get_AChunkedBody_WithExtensionsAndTrailers_IsDechunked_AndTheConnectionReused()
    {
        Run(async () =>
        {
            const string chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
                "5;name=value\r\nhello\r\n1\r\n,\r\n7 ; x=\"y\"\r\n world!\r\n0\r\nX-Checksum: 42\r\nX-More: yes\r\n\r\n";
            await using var server = new RawHttpServer(Always(chunked));
            await using var http = new HttpSession();
            for (int i = 0; i < 3; i++) Assert.Equal("hello, world!", (await http.GetAsync(server.Url())).Text);
            Assert.Equal(1, server.Accepted);
            Assert.Equal(1, http.IdleConnectionCount);
        });
    }

    [Fact]
    public void Get_ACloseDelimitedBody_IsReadToTheClose_AndItsConnectionIsNotPooled()
    {
        Run(async () =>
        {
            await using var server = new RawHttpServer(async (_, conn) =>
            {
                await Send(conn, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end");
                return false; // close: that ends the body
            });
            await using var http = new HttpSession();
            Assert.Equal("until the end", (await http.GetAsync(server.Url())).Text);
            Assert.Equal("until the end", (await http.GetAsync(server.Url())).Text);
            Assert.Equal(2, server.Accepted);
            Assert.Equal(0, http.IdleConnectionCount + http.ActiveConnectionCount);
        });
    }

    [Fact]
    public void Head_WithAContentLength_ReadsNoBody_AndKeepsTheConnection()
    {
        Run(async () =>
        {
            // A HEAD answer announces the GET's length and sends no body; reading one would hang.
            await using var server = new RawHttpServer(Always("HTTP/1.1 200 OK\r\nContent-Length: 12345\r\nContent-Type: text/html\r\n\r\n"));
            await using var http = new HttpSession();
            for (int i = 0; i < 2; i++)
            {
                var response = await http.HeadAsync(server.Url("/page"));
                Assert.Equal(200, response.StatusCode);
                Assert.Equal("12345", response.Headers.Get("Content-Length"));
                Assert.True(response.Body.IsEmpty);
            }
            Assert.Equal("HEAD", server.Requests[1].Method);
            Assert.Equal(1, server.Accepted);
        });
    }

    [Theory]
    [InlineData("HTTP/1.1 204 No Content\r\n\r\n", 204)]
    [InlineData("HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\nETag: \"x\"\r\n\r\n", 304)]
    public void NoBodyStatuses_HaveAnEmptyBody_AndKeepTheConnection(string raw, int status)
    {
        Run(async () =>
        {
            await using var server = new RawHttpServer(Always(raw));
            await using var http = new HttpSession();
            for (int i = 0; i < 2; i++)
            {
                var response = await http.GetAsync(server.Url());
                Assert.Equal(status, response.StatusCode);
                Assert.True(response.Body.IsEmpty);
                Assert.Equal("", response.Text);
            }
            Assert.Equal(1, server.Accepted);
        });
    }

    [Fact]
    public void InterimResponses_AreSkipped_ForTheFinalOne()
    {
        Run(async () =>
        {
            await using var server = new RawHttpServer(Always("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n" + Ok("final")));
            await using var http = new HttpSession();
            var response = await http.GetAsync(server.Url());
            Assert.Equal(200, response.StatusCode);
            Assert.Equal("final", response.Text);
        });
    }

    [Fact]
    public void Post_SendsTheBody_WithContentLengthAndType()
    {
        Run(async () =>
        {
            await using var server = new RawHttpServer(async (request, conn) =>
            {
                await Send(conn, Ok($"got {request.Body.Length} bytes"));
                return true;
            });
            await using var http = new HttpSession();
            var small = await http.PostAsync(server.Url("/form"), "a=1&b=2"u8.ToArray(), "application/x-www-form-urlencoded");
            Assert.Equal("got 7 bytes", small.Text);
            var big = new byte[100_000];
            new Random(5).NextBytes(big);
            Assert.Equal("got 100000 bytes", (await http.PostAsync(server.Url("/upload"), big, "application/octet-stream")).Text);
            Assert.Equal("got 0 bytes", (await http.PostAsync(server.Url("/empty"), ReadOnlyMemory<byte>.Empty, "text/plain")).Text);

            Assert.Equal("POST", server.Requests[0].Method);
            Assert.Equal("a=1&b=2", server.Requests[0].BodyText);
            Assert.Equal("application/x-www-form-urlencoded", server.Requests[0].Headers.Get("Content-Type"));
            Assert.Equal(big, server.Requests[1].Body);
            Assert.Equal("0", server.Requests[2].Headers.Get("Content-Length"));
            Assert.Equal(1, server.Accepted);
        });
    }

    [Fact]
    public void SendAsync_AnyTokenMethod_IsSentAsGiven()
    {
        Run(async () =>
        {
            await using var server = new RawHttpServer(Always("HTTP/1.1 204 No Content\r\n\r\n"));
            await using var http = new HttpSession();
            var response = await http.SendAsync("DELETE", new Uri(server.Url("/item/7")));
            Assert.Equal(204, response.StatusCode);
            Assert.Equal("DELETE", server.Requests[0].Method);
            Assert.Equal("/item/7", server.Requests[0].Target);
        });
    }

    [Fact]
    public void Https_RoundTrip_OverTlsStream_WithOneConnectionForSeveralRequests()
    {
        Run(async () =>
        {
            await using var server = new RawHttpServer(Always(Ok("secret")), tls: true);
            await using var http = new HttpSession(new HttpSessionOptions { Tls = TrustingTls() });
            for (int i = 0; i < 3; i++) Assert.Equal("secret", (await http.GetAsync(server.Url("/s"))).Text);
            Assert.Equal(1, server.Accepted);
            Assert.Equal($"localhost:{server.Port}", server.Requests[0].Headers.Get("Host"));
        });
    }

    [Fact]
    public void Https_AnUntrustedCertificate_FailsTheCall_AndLeavesNothingOpen()
    {
        Run(async () =>
        {
            await using var server = new RawHttpServer(Always(Ok("secret")), tls: true);
            await using var http = new HttpSession();
            await Assert.ThrowsAsync<System.Security.Authentication.AuthenticationException>(async () => await http.GetAsync(server.Url()));
            Assert.Equal(0, http.IdleConnectionCount + http.ActiveConnectionCount);
        });
    }

    [Fact]
    public void Misuse_IsRefused_BeforeAnythingIsSent()
    {
        Run(async () =>
        {
            await using var http = new HttpSession();
            await Assert.ThrowsAsync<UriFormatException>(async () => await http.GetAsync("not a url"));
            await Assert.ThrowsAsync<ArgumentException>(async () => await http.GetAsync("/relative")); // a file path on Unix
            await Assert.ThrowsAsync<ArgumentException>(async () => await http.GetAsync("ftp://127.0.0.1/file"));
            await Assert.ThrowsAsync<ArgumentException>(async () => await http.SendAsync("GET /x", new Uri("http://127.0.0.1:1/")));
            var framing = new HttpFields();
            framing.Add("Content-Length", "5");
            var error = await Assert.ThrowsAsync<ArgumentException>(async () => await http.GetAsync("http://127.0.0.1:1/", framing));
            Assert.Contains("Content-Length", error.Message);
            Assert.Throws<ArgumentOutOfRangeException>(() => new HttpSessionOptions { MaxConnectionsPerOrigin = 0 });
            Assert.Throws<ArgumentOutOfRangeException>(() => new HttpSessionOptions { FirstByteTimeout = TimeSpan.Zero });
        });
    }
}
