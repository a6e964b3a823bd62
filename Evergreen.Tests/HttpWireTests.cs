using System.Text;
using Evergreen.IO;
using Evergreen.IO.Http;
using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

// The HTTP/1.1 wire layer shared by HttpSession and HttpServer, fed exact bytes over loopback.
public class HttpWireTests
{
    private static readonly HttpHeadLimits Limits = new(MaxLineBytes: 256, MaxHeadBytes: 1024, MaxHeaderCount: 8);

    /// <summary>
    /// Sends <paramref name="pieces"/> from a server connection (a pause between them, so they
    /// arrive as separate reads), then closes it, while <paramref name="read"/> parses on the client.
    /// </summary>
    private static async Task<T> Over<T>(string[] pieces, Func<TcpStream, ValueTask<T>> read, bool close = true)
    {
        await using var server = TcpStreamTests.Listen();
        var sender = Tasklet.Spawn(async () =>
        {
            await using var conn = await server.AcceptAsync();
            foreach (var piece in pieces)
            {
                await conn.WriteAsync(Encoding.Latin1.GetBytes(piece));
                if (pieces.Length > 1) await Tasklet.Sleep(TimeSpan.FromMilliseconds(2));
            }
            if (close) await conn.ShutdownAsync();
            else await Tasklet.Sleep(TimeSpan.FromMilliseconds(50));
        });
        await using var client = await TcpStream.ConnectAsync(server.LocalEndPoint!);
        try
        {
            return await read(client);
        }
        finally
        {
            client.Close();
            await sender;
        }
    }

    private static ValueTask<HttpHead?> Response(TcpStream s) => HttpWire.ReadResponseHeadAsync(s, Limits, "peer");

    private static ValueTask<HttpHead?> Request(TcpStream s) => HttpWire.ReadRequestHeadAsync(s, Limits, "peer");

    private static async Task<string> ReadBody(IOStream stream, HttpBodyFraming framing, HttpBodyReader? reader = null)
    {
        reader ??= new HttpBodyReader();
        reader.Start(stream, framing, Limits, "peer");
        var body = new MemoryStream();
        var buffer = new byte[7]; // small: chunks and lengths span several reads
        int n;
        while ((n = await reader.ReadAsync(buffer)) > 0) body.Write(buffer, 0, n);
        Assert.True(reader.IsComplete);
        Assert.Equal(body.Length, reader.BytesRead);
        return Encoding.Latin1.GetString(body.ToArray());
    }

    [Fact]
    public void ResponseHead_SplitAcrossReads_ParsedWithFieldsInOrder()
    {
        Run(async () =>
        {
            var head = await Over(["HTTP/1.1 200 OK\r\nContent-Ty", "pe: text/html\r\nX-A: 1\r\nx-a:  2 \r\n", "\r\n"], Response);
            Assert.NotNull(head);
            Assert.Equal((200, "OK", "HTTP/1.1"), (head.StatusCode, head.Reason, head.Version));
            Assert.Equal("text/html", head.Fields.Get("content-type"));
            Assert.Same("Content-Type", head.Fields.NameAt(0)); // a known name is not a fresh string
            Assert.Equal(["1", "2"], head.Fields.GetAll("X-A"));
            Assert.True(head.KeepAlive);
        });
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", false)]
    [InlineData("HTTP/1.0 200 OK\r\n\r\n", false)]
    [InlineData("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n\r\n", true)]
    [InlineData("HTTP/1.1 204\r\nConnection: upgrade, keep-alive\r\n\r\n", true)]
    public void ResponseHead_ConnectionAndVersion_DecideKeepAlive(string wire, bool keepAlive)
    {
        Run(async () => Assert.Equal(keepAlive, (await Over([wire], Response))!.KeepAlive));
    }

    [Theory]
    [InlineData("HTTP/1.1 abc OK\r\n\r\n")]
    [InlineData("FOO\r\n\r\n")]
    [InlineData("HTTP/2.0 200 OK\r\n\r\n")]
    [InlineData("HTTP/1.1 200OK\r\n\r\n")]
    [InlineData("HTTP/1.1 20 OK\r\n\r\n")]
    [InlineData("<html>hello</html>")]
    public void ResponseHead_BadStatusLine_IsMalformedAndSaysWhatItSaw(string wire)
    {
        Run(async () =>
        {
            var error = await Assert.ThrowsAsync<MalformedHttpException>(async () => await Over([wire], Response));
            Assert.Equal(HttpViolation.BadStatusLine, error.Violation);
            Assert.StartsWith("malformed HTTP response from peer: bad status line \"", error.Message);
        });
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\nG: 7\r\nH: 8\r\nI: 9\r\n\r\n", HttpViolation.TooManyHeaders)]
    [InlineData("HTTP/1.1 200 OK\r\nX : 1\r\n\r\n", HttpViolation.BadHeaderLine)]
    [InlineData("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", HttpViolation.BadHeaderLine)]
    [InlineData("HTTP/1.1 200 OK\r\nBad(Name): 1\r\n\r\n", HttpViolation.BadHeaderLine)]
    [InlineData("HTTP/1.1 200 OK\r\nA: 1\r\n", HttpViolation.HeadTooShort)]
    public void ResponseHead_BrokenFields_AreMalformedWithTheirViolation(string wire, HttpViolation violation)
    {
        Run(async () => Assert.Equal(violation, (await Assert.ThrowsAsync<MalformedHttpException>(async () => await Over([wire], Response))).Violation));
    }

    [Fact]
    public void ResponseHead_LineOverTheLimit_IsLineTooLong()
    {
        Run(async () => Assert.Equal(HttpViolation.LineTooLong, (await Assert.ThrowsAsync<MalformedHttpException>(async () =>
            await Over([$"HTTP/1.1 200 OK\r\nX: {new string('a', 300)}\r\n\r\n"], Response))).Violation));
    }

    [Fact]
    public void ResponseHead_SectionOverTheLimit_IsHeaderSectionTooLong_EvenWithShortLines()
    {
        var wire = new StringBuilder("HTTP/1.1 200 OK\r\n");
        for (int i = 0; i < 7; i++) wire.Append($"X-{i}: {new string('v', 200)}\r\n");
        wire.Append("\r\n");
        Run(async () => Assert.Equal(HttpViolation.HeaderSectionTooLong,
            (await Assert.ThrowsAsync<MalformedHttpException>(async () => await Over([wire.ToString()], Response))).Violation));
    }

    [Fact]
    public void ResponseHead_FoldedLine_IsUnfolded_ButRefusedInARequest()
    {
        Run(async () =>
        {
            var head = await Over(["HTTP/1.1 200 OK\r\nX: a\r\n  b\r\n\r\n"], Response);
            Assert.Equal("a b", head!.Fields.Get("X"));
            var error = await Assert.ThrowsAsync<MalformedHttpException>(async () => await Over(["GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n"], Request));
            Assert.Equal(HttpViolation.BadHeaderLine, error.Violation);
            Assert.True(error.IsRequest);
        });
    }

    [Fact]
    public void Head_StreamEndsBeforeAnyByte_IsNull()
    {
        Run(async () =>
        {
            Assert.Null(await Over([], Response));
            Assert.Null(await Over(["\r\n"], Request));
        });
    }

    [Fact]
    public void RequestHeads_Pipelined_AreReadOneAfterTheOther_WithBodiesBetween()
    {
        Run(async () =>
        {
            var (first, body, second) = await Over(
                ["\r\nPOST /a?q=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.0\r\n\r\n"],
                async s =>
                {
                    var first = await Request(s);
                    var body = await ReadBody(s, HttpWire.RequestFraming(first!));
                    var second = await Request(s);
                    return (first!, body, second!);
                });
            Assert.Equal(("POST", "/a?q=1", "HTTP/1.1"), (first.Method, first.Target, first.Version));
            Assert.Same("POST", first.Method);
            Assert.Equal("hello", body);
            Assert.Equal(("GET", "/b"), (second.Method, second.Target));
            Assert.False(second.KeepAlive);
            Assert.Equal(HttpBodyKind.None, HttpWire.RequestFraming(second).Kind);
        });
    }

    [Theory]
    [InlineData("GET  / HTTP/1.1\r\n\r\n")]
    [InlineData("GET /\r\n\r\n")]
    [InlineData("G(T / HTTP/1.1\r\n\r\n")]
    [InlineData("GET / HTTP/1.2\r\n\r\n")]
    public void RequestHead_BadRequestLine_IsMalformed(string wire)
    {
        Run(async () => Assert.Equal(HttpViolation.BadRequestLine,
            (await Assert.ThrowsAsync<MalformedHttpException>(async () => await Over([wire], Request))).Violation));
    }

    [Fact]
    public void ChunkedBody_WithExtensionsAndTrailers_IsDechunked_AndTheNextMessageStaysBuffered()
    {
        Run(async () =>
        {
            var (body, trailers, next) = await Over(
                ["5;ext=1\r\nhello\r\n", "9\r\n, chunked\r\n", "0\r\nX-Sum: 42\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"],
                async s =>
                {
                    var reader = new HttpBodyReader();
                    string body = await ReadBody(s, new HttpBodyFraming(HttpBodyKind.Chunked), reader);
                    return (body, reader.Trailers, await Response(s));
                });
            Assert.Equal("hello, chunked", body);
            Assert.Equal("42", trailers!.Get("X-Sum"));
            Assert.Equal(204, next!.StatusCode);
        });
    }

    [Theory]
    [InlineData("zz\r\nhello\r\n0\r\n\r\n", HttpViolation.BadChunkSize)]
    [InlineData("\r\nhello\r\n0\r\n\r\n", HttpViolation.BadChunkSize)]
    [InlineData("-5\r\nhello\r\n0\r\n\r\n", HttpViolation.BadChunkSize)]
    [InlineData("5\r\nhelloXX0\r\n\r\n", HttpViolation.BadChunkEnd)]
    [InlineData("5\r\nhel", HttpViolation.BodyTooShort)]
    [InlineData("5\r\nhello\r\n", HttpViolation.BodyTooShort)]
    public void ChunkedBody_Broken_IsMalformedWithItsViolation(string wire, HttpViolation violation)
    {
        Run(async () => Assert.Equal(violation, (await Assert.ThrowsAsync<MalformedHttpException>(async () =>
            await Over([wire], s => new ValueTask<string>(ReadBody(s, new HttpBodyFraming(HttpBodyKind.Chunked)))))).Violation));
    }

    [Fact]
    public void LengthBody_ShorterThanContentLength_IsBodyTooShort_NamingBothCounts()
    {
        Run(async () =>
        {
            var error = await Assert.ThrowsAsync<MalformedHttpException>(async () =>
                await Over(["abc"], s => new ValueTask<string>(ReadBody(s, new HttpBodyFraming(HttpBodyKind.Length, 10)))));
            Assert.Equal(HttpViolation.BodyTooShort, error.Violation);
            Assert.Contains("after 3 of the 10 bytes", error.Message);
        });
    }

    [Fact]
    public void UntilCloseBody_EndsWithTheConnection()
    {
        Run(async () => Assert.Equal("all of it", await Over(["all ", "of it"],
            s => new ValueTask<string>(ReadBody(s, new HttpBodyFraming(HttpBodyKind.UntilClose))))));
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", false, "Length", true)]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 12, 12\r\n\r\n", false, "Length", true)]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", true, "None", true)]
    [InlineData("HTTP/1.1 304 Not Modified\r\nContent-Length: 12\r\n\r\n", false, "None", true)]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", false, "Chunked", true)]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", false, "Chunked", false)]
    [InlineData("HTTP/1.1 200 OK\r\n\r\n", false, "UntilClose", false)]
    public void ResponseFraming_FollowsRfc9112(string wire, bool requestWasHead, string kind, bool keepAlive)
    {
        Run(async () =>
        {
            var head = (await Over([wire], Response))!;
            Assert.Equal(kind, HttpWire.ResponseFraming(head, requestWasHead).Kind.ToString());
            Assert.Equal(keepAlive, head.KeepAlive);
        });
    }

    [Theory]
    [InlineData("Content-Length: 12, 13", HttpViolation.BadContentLength)]
    [InlineData("Content-Length: -1", HttpViolation.BadContentLength)]
    [InlineData("Content-Length: 1e3", HttpViolation.BadContentLength)]
    [InlineData("Transfer-Encoding: gzip, chunked", HttpViolation.UnsupportedTransferEncoding)]
    // RFC 9112 §6.3: chunked not last in a request: "the server MUST respond with the 400".
    [InlineData("Transfer-Encoding: gzip", HttpViolation.AmbiguousFraming)]
    [InlineData("Transfer-Encoding: chunked, chunked", HttpViolation.AmbiguousFraming)]
    [InlineData("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked", HttpViolation.AmbiguousFraming)]
    [InlineData("Transfer-Encoding: chunked\r\nContent-Length: 5", HttpViolation.AmbiguousFraming)]
    public void RequestFraming_BadLengthOrCoding_IsMalformed(string field, HttpViolation violation)
    {
        Run(async () =>
        {
            var head = (await Over([$"POST / HTTP/1.1\r\n{field}\r\n\r\n"], Request))!;
            Assert.Equal(violation, Assert.Throws<MalformedHttpException>(() => HttpWire.RequestFraming(head, "peer")).Violation);
        });
    }

    [Fact]
    public void RequestHead_TransferEncodingWithTrailingWhitespace_IsAmbiguous_ButAResponseIsNot()
    {
        Run(async () =>
        {
            var error = await Assert.ThrowsAsync<MalformedHttpException>(async () => await Over(["POST / HTTP/1.1\r\nTransfer-Encoding: chunked\t\r\n\r\n"], Request));
            Assert.Equal(HttpViolation.AmbiguousFraming, error.Violation);
            var response = (await Over(["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\t\r\n\r\n"], Response))!;
            Assert.Equal(HttpBodyKind.Chunked, HttpWire.ResponseFraming(response, requestWasHead: false).Kind);
        });
    }

    [Fact]
    public void ControlByteInAValue_IsRefusedInARequest_ButToleratedInAResponse()
    {
        Run(async () =>
        {
            var error = await Assert.ThrowsAsync<MalformedHttpException>(async () => await Over(["GET / HTTP/1.1\r\nX-A: a\u0001b\r\n\r\n"], Request));
            Assert.Equal(HttpViolation.BadHeaderLine, error.Violation);
            Assert.Contains("the control byte 0x01", error.Message);
            var response = (await Over(["HTTP/1.1 200 OK\r\nX-A: a\u0001b\r\n\r\n"], Response))!;
            Assert.Equal("a\u0001b", response.Fields.Get("X-A"));
        });
    }

    [Fact]
    public void ChunkedBody_WithBareLFLines_IsReadInAResponse_ButRefusedInARequest()
    {
        // The client reads a response leniently (it is the body's last reader); a request's chunk
        // lines must end CRLF (RFC 9112 §7.1), or a proxy that reads them otherwise desyncs.
        Run(async () =>
        {
            Assert.Equal("hello", await Over(["5\nhello\n0\n\n"], s => new ValueTask<string>(ReadBody(s, new HttpBodyFraming(HttpBodyKind.Chunked)))));
            var error = await Assert.ThrowsAsync<MalformedHttpException>(async () => await Over(["5\nhello\r\n0\r\n\r\n"], async s =>
            {
                var reader = new HttpBodyReader();
                reader.Start(s, new HttpBodyFraming(HttpBodyKind.Chunked), Limits, "peer", request: true);
                return await reader.ReadAsync(new byte[16]);
            }));
            Assert.Equal(HttpViolation.BadChunkSize, error.Violation);
        });
    }

    [Fact]
    public void ChunkedBody_AChunkPastTheLimit_IsRefusedFromItsSizeLine()
    {
        Run(async () =>
        {
            // The chunk's data never comes: the refusal must not wait for it.
            var error = await Assert.ThrowsAsync<InvalidDataException>(async () => await Over(["5\r\nhello\r\n10\r\n"], async s =>
            {
                var reader = new HttpBodyReader();
                reader.Start(s, new HttpBodyFraming(HttpBodyKind.Chunked), Limits, "peer", request: true, maxBody: 20);
                var buffer = new byte[16];
                while (await reader.ReadAsync(buffer) > 0) { }
                return 0;
            }, close: false));
            Assert.Contains("a chunk of 16 bytes from peer would take the body (5 bytes so far) past the limit of 20 bytes", error.Message);
        });
    }

    [Fact]
    public void Fields_AddSetRemoveAndTokens()
    {
        var fields = new HttpFields();
        fields.Add("Accept", "a");
        fields.Add("accept", "b");
        fields.Add("Connection", "Upgrade, keep-alive");
        Assert.Equal(["a", "b"], fields.GetAll("ACCEPT"));
        Assert.True(fields.HasToken("connection", "KEEP-ALIVE"));
        Assert.False(fields.HasToken("connection", "close"));
        fields.Set("Accept", "c");
        Assert.Equal("c", fields.Get("accept"));
        Assert.Equal(1, fields.Remove("Accept"));
        Assert.Equal("Connection: Upgrade, keep-alive\r\n", fields.ToString());
        Assert.Equal([new KeyValuePair<string, string>("Connection", "Upgrade, keep-alive")], fields.ToList());
    }

    [Theory]
    [InlineData("X-Evil", "a\r\nSet-Cookie: x")]
    [InlineData("X-Evil", "a\nb")]
    [InlineData("Bad Name", "a")]
    [InlineData("", "a")]
    public void Fields_Injection_IsRefused(string name, string value)
    {
        Assert.Throws<ArgumentException>(() => new HttpFields().Add(name, value));
    }

    [Fact]
    public void ChunkHeader_IsHexAndCrlf()
    {
        var buffer = new byte[16];
        int n = HttpWire.WriteChunkHeader(0x1a2f, buffer);
        Assert.Equal("1a2f\r\n", Encoding.ASCII.GetString(buffer, 0, n));
    }
}
