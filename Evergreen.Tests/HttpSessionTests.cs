using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Evergreen.IO;
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

    public static TheoryData<string> Codings => new() { "gzip", "x-gzip", "deflate", "raw-deflate", "br" };

    internal static byte[] Compress(string coding, byte[] data)
    {
        var output = new MemoryStream();
        using (Stream encoder = coding switch
        {
            "gzip" or "x-gzip" => new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true),
            "deflate" => new ZLibStream(output, CompressionLevel.Optimal, leaveOpen: true),
            "raw-deflate" => new DeflateStream(output, CompressionLevel.Optimal, leaveOpen: true),
            _ => new BrotliStream(output, CompressionLevel.Optimal, leaveOpen: true),
        })
        {
            encoder.Write(data);
        }
        return output.ToArray();
    }

    [Theory]
    [MemberData(nameof(Codings))]
    public void CompressedBodies_AreDecoded_WithLengthOrChunks(string coding)
    {
        Run(async () =>
        {
            var text = string.Concat(Enumerable.Range(0, 2000).Select(i => $"line {i} of a compressible page\n"));
            var compressed = Compress(coding, Encoding.UTF8.GetBytes(text));
            string header = coding == "raw-deflate" ? "deflate" : coding;
            await using var server = new RawHttpServer(async (request, conn) =>
            {
                if (request.Target == "/length")
                {
                    await Send(conn, WithBody($"HTTP/1.1 200 OK\r\nContent-Encoding: {header}\r\n", compressed));
                }
                else
                {
                    await Send(conn, $"HTTP/1.1 200 OK\r\nContent-Encoding: {header}\r\nTransfer-Encoding: chunked\r\n\r\n");
                    for (int at = 0; at < compressed.Length; at += 1000)
                    {
                        int n = Math.Min(1000, compressed.Length - at);
                        await Send(conn, $"{n:x}\r\n");
                        await Send(conn, compressed.AsSpan(at, n).ToArray());
                        await Send(conn, "\r\n");
                    }
                    await Send(conn, "0\r\n\r\n");
                }
                return true;
            });
            await using var http = new HttpSession();
            Assert.Equal(text, (await http.GetAsync(server.Url("/length"))).Text);
            Assert.Equal(text, (await http.GetAsync(server.Url("/chunked"))).Text);
            Assert.Equal(text, (await http.GetAsync(server.Url("/length"))).Text);
            Assert.Equal(1, server.Accepted); // each body was read to its end: the connection was reused
        });
    }

    [Fact]
    public void WithoutAutomaticDecompression_TheBodyIsHandedOverAsSent()
    {
        Run(async () =>
        {
            var compressed = Compress("gzip", "raw bytes"u8.ToArray());
            await using var server = new RawHttpServer(Always(Encoding.Latin1.GetString(WithBody("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n", compressed))));
            await using var http = new HttpSession(new HttpSessionOptions { AutomaticDecompression = false });
            var response = await http.GetAsync(server.Url());
            Assert.Equal(compressed, response.Body.ToArray());
            Assert.False(server.Requests[0].Headers.Contains("Accept-Encoding"));
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

    [Theory]
    [InlineData("text/plain; charset=iso-8859-1", new byte[] { 0x63, 0x61, 0x66, 0xE9 }, "café")]
    [InlineData("text/html; charset=\"windows-1252\"", new byte[] { 0x80, 0x31 }, "€1")]
    [InlineData("text/plain; charset=no-such-charset", new byte[] { 0x63, 0x61, 0x66, 0xC3, 0xA9 }, "café")]
    [InlineData("text/plain", new byte[] { 0xEF, 0xBB, 0xBF, 0x68, 0x69 }, "hi")]
    [InlineData(null, new byte[] { 0x63, 0x61, 0x66, 0xC3, 0xA9 }, "café")]
    public void Text_IsDecodedByTheCharset_WithUtf8ForUnknownOrNone(string? contentType, byte[] body, string text)
    {
        Run(async () =>
        {
            var raw = WithBody($"HTTP/1.1 200 OK\r\n{(contentType is null ? "" : $"Content-Type: {contentType}\r\n")}", body);
            await using var server = new RawHttpServer(Always(Encoding.Latin1.GetString(raw)));
            await using var http = new HttpSession();
            Assert.Equal(text, (await http.GetAsync(server.Url())).Text);
        });
    }

    [Fact]
    public void Streaming_ATenMegabyteChunkedBody_IsByteExact_AndTheConnectionGoesBack()
    {
        Run(async () =>
        {
            var data = new byte[10 * 1024 * 1024];
            new Random(42).NextBytes(data);
            await using var server = new RawHttpServer(async (_, conn) =>
            {
                await Send(conn, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
                var sizes = new Random(7);
                for (int at = 0; at < data.Length;)
                {
                    int n = Math.Min(sizes.Next(1, 100_000), data.Length - at);
                    await Send(conn, $"{n:x}\r\n");
                    await conn.WriteAsync(data.AsMemory(at, n));
                    await Send(conn, "\r\n");
                    at += n;
                }
                await Send(conn, "0\r\n\r\n");
                return true;
            });
            await using var http = new HttpSession(new HttpSessionOptions { MaxBodyBytes = data.Length });
            await using (var response = await http.SendAsync("GET", new Uri(server.Url("/big")), streamBody: true))
            {
                Assert.Equal(1, http.ActiveConnectionCount);
                Assert.Throws<InvalidOperationException>(() => response.Body);
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var buffer = new byte[64 * 1024];
                long total = 0;
                int n;
                while ((n = await response.BodyStream.ReadAsync(buffer)) > 0)
                {
                    hash.AppendData(buffer, 0, n);
                    total += n;
                }
                Assert.Equal(data.Length, total);
                Assert.Equal(SHA256.HashData(data), hash.GetHashAndReset());
            }
            Assert.Equal(1, http.IdleConnectionCount); // read to its end: back in the pool
            Assert.Equal(0, http.ActiveConnectionCount);
        });
    }

    [Fact]
    public void Streaming_ReadBodyAsync_ReadsTheRest_AndAnUnreadBodyClosesItsConnectionOnDispose()
    {
        Run(async () =>
        {
            await using var server = new RawHttpServer(Always(Ok("0123456789")));
            await using var http = new HttpSession();
            await using (var response = await http.SendAsync("GET", new Uri(server.Url()), streamBody: true))
            {
                var first = new byte[4];
                Assert.Equal(4, await response.BodyStream.ReadAsync(first));
                Assert.Equal("0123", Encoding.ASCII.GetString(first));
                Assert.Equal("456789", Encoding.ASCII.GetString((await response.ReadBodyAsync()).Span));
                Assert.Equal("456789", response.Text);
            }
            Assert.Equal(1, http.IdleConnectionCount);

            server.ConnectionEnded.Clear();
            var unread = await http.SendAsync("GET", new Uri(server.Url()), streamBody: true);
            await unread.DisposeAsync();
            await server.ConnectionEnded.WaitAsync(); // closed, not drained and pooled
            Assert.Equal(0, http.IdleConnectionCount + http.ActiveConnectionCount);
            await Assert.ThrowsAsync<ObjectDisposedException>(async () => await unread.ReadBodyAsync());
        });
    }

    [Fact]
    public void BodyStream_OfABufferedResponse_IsTheBody()
    {
        Run(async () =>
        {
            await using var server = new RawHttpServer(Always(Ok("line one\nline two\n")));
            await using var http = new HttpSession();
            var response = await http.GetAsync(server.Url());
            using var reader = new StreamReader(response.BodyStream);
            Assert.Equal("line one", await reader.ReadLineAsync());
            Assert.Equal("line two", await reader.ReadLineAsync());
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
