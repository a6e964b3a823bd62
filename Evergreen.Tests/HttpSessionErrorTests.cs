using System.Text;
using Evergreen.IO;
using Evergreen.IO.Http;
using static Evergreen.Tests.RawHttpServer;
using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

// HttpSession against broken servers: each failure is a clear exception, that connection is
// discarded, and the session goes on serving other requests.
public class HttpSessionErrorTests
{
    private static readonly HttpSessionOptions SmallLimits = new() { MaxHeaderLineBytes = 256, MaxHeadBytes = 1024, MaxHeaderCount = 10 };

    public static TheoryData<string, HttpViolation> Malformed => new()
    {
        { "HTTP/1.1 abc Nope\r\nContent-Length: 0\r\n\r\n", HttpViolation.BadStatusLine },
        { "SMTP/1.0 200 OK\r\n\r\n", HttpViolation.BadStatusLine },
        { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", HttpViolation.BadChunkSize },
        { $"HTTP/1.1 200 OK\r\nX-Long: {new string('a', 300)}\r\n\r\n", HttpViolation.LineTooLong },
        { $"HTTP/1.1 200 OK\r\n{string.Concat(Enumerable.Range(0, 8).Select(i => $"X-Field-{i}: {new string('b', 200)}\r\n"))}\r\n", HttpViolation.HeaderSectionTooLong },
        { $"HTTP/1.1 200 OK\r\n{string.Concat(Enumerable.Range(0, 11).Select(i => $"X-{i}: v\r\n"))}\r\n", HttpViolation.TooManyHeaders },
        { "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly forty bytes of the hundred promised", HttpViolation.BodyTooShort },
        { "HTTP/1.1 200 OK\r\nContent-Length: 12, 13\r\n\r\nhello world!", HttpViolation.BadContentLength },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void AMalformedResponse_IsAMalformedHttpException_NamingTheUrl_AndTheSessionGoesOn(string raw, HttpViolation violation)
    {
        Run(async () =>
        {
            await using var bad = new RawHttpServer(async (_, conn) =>
            {
                await Send(conn, raw);
                return false; // and close (a short body ends here)
            });
            await using var good = new RawHttpServer(Always(Ok("good")));
            await using var http = new HttpSession(SmallLimits);
            Assert.Equal("good", (await http.GetAsync(good.Url())).Text);
            var url = bad.Url("/broken");
            var error = await Assert.ThrowsAsync<MalformedHttpException>(async () => await http.GetAsync(url));
            Assert.Equal(violation, error.Violation);
            Assert.Equal(url, error.Peer);
            Assert.StartsWith($"malformed HTTP response from {url}: ", error.Message);
            Assert.Equal(1, http.IdleConnectionCount); // the good one; the bad one was discarded
            Assert.Equal("good", (await http.GetAsync(good.Url())).Text);
            Assert.Equal(1, good.Accepted);
        });
    }

    [Fact]
    public void AMalformedResponse_OnAReusedConnection_DiscardsOnlyThatConnection()
    {
        Run(async () =>
        {
            await using var server = new RawHttpServer(async (request, conn) =>
            {
                await Send(conn, request.Target == "/bad" ? "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nnope\r\n" : Ok("ok"));
                return true;
            });
            await using var http = new HttpSession();
            await http.GetAsync(server.Url("/a"));
            var error = await Assert.ThrowsAsync<MalformedHttpException>(async () => await http.GetAsync(server.Url("/bad")));
            Assert.Equal(HttpViolation.BadChunkSize, error.Violation);
            Assert.Equal("ok", (await http.GetAsync(server.Url("/b"))).Text);
            Assert.Equal(2, server.Accepted);
        });
    }

    [Fact]
    public void AConnectionResetMidBody_FailsTheCall_AndTheNextCallWorks()
    {
        Run(async () =>
        {
            await using var server = new RawHttpServer(async (request, conn) =>
            {
                if (request.Target == "/reset")
                {
                    await Send(conn, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + new string('r', 5000));
                    ((TcpStream)conn).CloseWithReset();
                    return false;
                }
                await Send(conn, Ok("after"));
                return true;
            });
            await using var http = new HttpSession();
            var error = await Assert.ThrowsAnyAsync<IOException>(async () => await http.GetAsync(server.Url("/reset")));
            Assert.True(error is UvException { ErrorName: "ECONNRESET" } or MalformedHttpException { Violation: HttpViolation.BodyTooShort }, error.ToString());
            Assert.Equal(0, http.ActiveConnectionCount + http.IdleConnectionCount);
            Assert.Equal("after", (await http.GetAsync(server.Url("/next"))).Text);
        });
    }

    [Fact]
    public void ConnectionRefused_IsTheUvException()
    {
        Run(async () =>
        {
            int port;
            await using (var closed = TcpStreamTests.Listen()) port = closed.LocalEndPoint!.Port; // a port nobody listens on now
            await using var http = new HttpSession();
            var error = await Assert.ThrowsAsync<UvException>(async () => await http.GetAsync($"http://127.0.0.1:{port}/"));
            Assert.Equal("ECONNREFUSED", error.ErrorName);
            Assert.Equal(0, http.ActiveConnectionCount);
        });
    }

    [Fact]
    public void ABufferedBodyOverTheLimit_IsRefused_WithAClearMessage()
    {
        Run(async () =>
        {
            var big = new string('x', 2 * 1024 * 1024);
            await using var server = new RawHttpServer(async (request, conn) =>
            {
                if (request.Target == "/length") await Send(conn, Ok(big));
                else await Send(conn, $"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{big.Length:x}\r\n{big}\r\n0\r\n\r\n");
                return true;
            });
            await using var http = new HttpSession(new HttpSessionOptions { MaxBodyBytes = 1024 * 1024 });
            foreach (var path in new[] { "/length", "/chunked" })
            {
                var url = server.Url(path);
                var error = await Assert.ThrowsAsync<HttpBodyTooLargeException>(async () => await http.GetAsync(url));
                Assert.Equal($"GET {url}: the body exceeds the 1 MiB limit (MaxBodyBytes); the request was aborted", error.Message);
                Assert.Equal(1024 * 1024, error.Limit);
                Assert.Equal(new Uri(url), error.Url);
                Assert.Equal(0, http.ActiveConnectionCount + http.IdleConnectionCount); // closed, not drained
            }
            Assert.Equal(2, server.Accepted);
        });
    }

    [Fact]
    public void AStreamedBodyOverTheLimit_FailsTheRead()
    {
        Run(async () =>
        {
            await using var server = new RawHttpServer(Always($"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{3000:x}\r\n{new string('s', 3000)}\r\n0\r\n\r\n"));
            await using var http = new HttpSession(new HttpSessionOptions { MaxBodyBytes = 2000 });
            await using var response = await http.SendAsync("GET", new Uri(server.Url()), streamBody: true);
            var buffer = new byte[1000];
            await Assert.ThrowsAsync<HttpBodyTooLargeException>(async () =>
            {
                while (await response.BodyStream.ReadAsync(buffer) > 0) { }
            });
            Assert.Equal(0, http.ActiveConnectionCount + http.IdleConnectionCount);
            await Assert.ThrowsAsync<ObjectDisposedException>(async () => await response.ReadBodyAsync());
        });
    }

    [Fact]
    public void AStreamedBody_DeclaredOverTheLimit_CanBeReadUpToIt_AndFailsOnlyPastIt()
    {
        Run(async () =>
        {
            await using var server = new RawHttpServer(Always(Encoding.Latin1.GetString(WithBody("HTTP/1.1 200 OK\r\n", Encoding.ASCII.GetBytes(new string('s', 5000))))));
            await using var http = new HttpSession(new HttpSessionOptions { MaxBodyBytes = 2000 });
            await using (var response = await http.SendAsync("GET", new Uri(server.Url("/part")), streamBody: true))
            {
                var buffer = new byte[700];
                int total = 0;
                for (int n; total < 2000 && (n = await response.BodyStream.ReadAsync(buffer.AsMemory(0, Math.Min(700, 2000 - total)))) > 0;) total += n;
                Assert.Equal(2000, total); // every byte up to the limit, though the head declared 5000
            }
            await using (var response = await http.SendAsync("GET", new Uri(server.Url("/all")), streamBody: true))
            {
                var buffer = new byte[700];
                long total = 0;
                var error = await Assert.ThrowsAsync<HttpBodyTooLargeException>(async () =>
                {
                    for (int n; (n = await response.BodyStream.ReadAsync(buffer)) > 0;) total += n;
                });
                Assert.Equal(2000, total);
                Assert.Contains("MaxBodyBytes", error.Message);
            }
            Assert.Equal(0, http.ActiveConnectionCount + http.IdleConnectionCount);
            await Assert.ThrowsAsync<HttpBodyTooLargeException>(async () => await http.GetAsync(server.Url("/buffered"))); // buffered: refused from the head
        });
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("br")]
    [InlineData("deflate")]
    public void ACompressionBomb_StopsAtTheLimit_OnTheDecodedBytes(string coding)
    {
        Run(async () =>
        {
            var bomb = HttpSessionBodyTests.Compress(coding, new byte[16 * 1024 * 1024]); // 16 MiB of zeros, a few KiB on the wire
            Assert.True(bomb.Length < 100_000);
            await using var server = new RawHttpServer(Always(Encoding.Latin1.GetString(WithBody($"HTTP/1.1 200 OK\r\nContent-Encoding: {coding}\r\n", bomb))));
            await using var http = new HttpSession(new HttpSessionOptions { MaxBodyBytes = 1024 * 1024 });
            var error = await Assert.ThrowsAsync<HttpBodyTooLargeException>(async () => await http.GetAsync(server.Url("/bomb")));
            Assert.Contains("exceeds the 1 MiB limit", error.Message);
            Assert.Equal(0, http.ActiveConnectionCount + http.IdleConnectionCount);
        });
    }

    [Fact]
    public void ACompressedBodyOverTheLimitOnTheWire_StopsBeforeDecodingIt()
    {
        Run(async () =>
        {
            var noise = new byte[300_000];
            new Random(3).NextBytes(noise); // incompressible: bigger on the wire than the limit
            var compressed = HttpSessionBodyTests.Compress("gzip", noise);
            await using var server = new RawHttpServer(Always(Encoding.Latin1.GetString(WithBody("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n", compressed))));
            await using var http = new HttpSession(new HttpSessionOptions { MaxBodyBytes = 100_000 });
            var error = await Assert.ThrowsAsync<HttpBodyTooLargeException>(async () => await http.GetAsync(server.Url()));
            Assert.Contains("exceeds the 100000 bytes limit", error.Message);
        });
    }

    [Fact]
    public void ACorruptCompressedBody_IsAnInvalidDataException_NamingTheUrl()
    {
        Run(async () =>
        {
            await using var server = new RawHttpServer(Always(Ok("this is not gzip at all", "Content-Encoding: gzip\r\n")));
            await using var http = new HttpSession();
            var url = server.Url("/corrupt");
            var error = await Assert.ThrowsAsync<InvalidDataException>(async () => await http.GetAsync(url));
            Assert.StartsWith($"GET {url}: the gzip-encoded body cannot be decoded", error.Message);
            Assert.Equal(0, http.ActiveConnectionCount + http.IdleConnectionCount);
        });
    }
}
