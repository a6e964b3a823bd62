using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Evergreen.IO.Http;
using static Evergreen.Tests.RawHttpServer;
using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

// HttpSession's response bodies: content codings, charsets, and streaming.
public class HttpSessionBodyTests
{
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
}
