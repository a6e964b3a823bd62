using Evergreen.IO.Http;
using static Evergreen.Tests.HttpServerTests;
using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

// Requests a proxy in front of HttpServer could frame differently from it (RFC 9112 §11.2,
// request smuggling): the server refuses each with 400 and closes, where nginx refuses too. Each
// case names the RFC words it rests on.
public class HttpServerSmugglingTests
{
    private static HttpServer Server() => new HttpServer()
        .MapPost("/*", (request, reply) => reply.SendTextAsync(200, $"got {request.Body.Length}"));

    /// <summary>Sends <paramref name="raw"/> on a fresh connection and expects <paramref name="status"/>, Connection: close, then the close.</summary>
    private static async Task<RawResponse> Sent(HttpServer server, string raw, int status)
    {
        await using var http = Start(server);
        RawResponse r;
        await using (var client = await http.ConnectAsync())
        {
            await client.SendAsync(raw);
            r = await client.ReadResponseAsync();
            Assert.Equal(status, r.Status);
            if (status >= 400)
            {
                Assert.Equal("close", r.Header("Connection"));
                Assert.True(await client.ServerClosedAsync());
            }
        }
        await http.StopAsync();
        return r;
    }

    [Theory]
    // §6.1: "A sender MUST NOT apply the chunked transfer coding more than once to a message body".
    [InlineData("Transfer-Encoding: chunked, chunked\r\n")]
    // Two fields: a proxy that reads only the first or the last may disagree with one that joins them.
    [InlineData("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n")]
    [InlineData("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n")]
    // §5.5 trims the whitespace, nginx takes "chunked\t" as an unknown coding: they disagree.
    [InlineData("Transfer-Encoding: chunked\t\r\n")]
    [InlineData("Transfer-Encoding: chunked \r\n")]
    // §6.1: "A server MAY reject a request that contains both Content-Length and
    // Transfer-Encoding [...] Regardless, the server MUST close the connection".
    [InlineData("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n")]
    [InlineData("Transfer-Encoding: chunked\r\nContent-Length: 0\r\n")]
    // §6.3: "If a Transfer-Encoding header field is present in a request and the chunked transfer
    // coding is not the final encoding, [...] the server MUST respond with the 400 (Bad Request)".
    [InlineData("Transfer-Encoding: gzip\r\n")]
    [InlineData("Transfer-Encoding: chunked, gzip\r\n")]
    public void AmbiguousTransferEncoding_Is400_AndTheConnectionCloses(string fields)
    {
        Run(async () =>
        {
            var r = await Sent(Server(), $"POST /up HTTP/1.1\r\nHost: t\r\n{fields}\r\n5\r\nhello\r\n0\r\n\r\n", 400);
            Assert.Contains("proxy may read another", r.Text);
        });
    }

    [Fact]
    public void PlainChunked_AndChunkedInAnyCase_AreStillRead()
    {
        Run(async () =>
        {
            Assert.Equal("got 5", (await Sent(Server(), "POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 200)).Text);
            // §7: "Transfer coding names are case-insensitive".
            Assert.Equal("got 5", (await Sent(Server(), "POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: Chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 200)).Text);
        });
    }

    [Fact]
    public void ChunkedAfterAnotherCoding_IsStill501()
    {
        // §6.1: "A server that receives a request message with a transfer coding it does not
        // understand SHOULD respond with 501 (Not Implemented)"; chunked is last, so the length is clear.
        Run(async () => await Sent(Server(), "POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501));
    }

    [Theory]
    // §7.1: chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF; last-chunk and the trailer
    // section end in CRLF too. §2.2's leave to accept a bare LF covers "the start-line and fields".
    [InlineData("5\nhello\r\n0\r\n\r\n")]         // a chunk-size line
    [InlineData("5\r\nhello\n0\r\n\r\n")]         // the end of a chunk's data
    [InlineData("5\r\nhello\r\n0\n\r\n")]         // the last chunk
    [InlineData("5\r\nhello\r\n0\r\n\n")]         // the end of the trailer section
    [InlineData("5\r\nhello\r\n0\r\nX-T: 1\n\r\n")] // a trailer field
    public void ChunkLine_EndingInABareLF_Is400(string body)
    {
        Run(async () => await Sent(Server(), $"POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n{body}", 400));
    }

    [Theory]
    // RFC 9110 §5.5: field-value = *field-content, of VCHAR, obs-text, SP and HTAB: no other
    // control byte. (NUL, CR and LF were refused already.)
    [InlineData('\x01')]
    [InlineData('\x0b')]
    [InlineData('\x0c')]
    [InlineData('\x1f')]
    [InlineData('\x7f')]
    public void HeaderValue_WithAControlByte_Is400(char control)
    {
        Run(async () => await Sent(Server(), $"POST /up HTTP/1.1\r\nHost: t\r\nX-Note: a{control}b\r\nContent-Length: 0\r\n\r\n", 400));
    }

    [Fact]
    public void HeaderValue_WithATabAndObsText_IsAccepted()
    {
        Run(async () => await Sent(Server(), "POST /up HTTP/1.1\r\nHost: t\r\nX-Note: a\tb \xe9\r\nContent-Length: 0\r\n\r\n", 200));
    }
}
