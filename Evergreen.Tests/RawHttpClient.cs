using System.Globalization;
using System.Net;
using System.Text;
using Evergreen.IO;

namespace Evergreen.Tests;

/// <summary>
/// A raw HTTP/1.1 client for server tests: sends exact bytes and reads replies with its own
/// small parser (the code under test does not get to judge its own output), chunked bodies
/// decoded here, chunk by chunk.
/// </summary>
internal sealed class RawHttpClient : IAsyncDisposable
{
    private RawHttpClient(TcpStream stream) => Stream = stream;

    public TcpStream Stream { get; }

    public static async Task<RawHttpClient> ConnectAsync(IPEndPoint server) => new(await TcpStream.ConnectAsync(server));

    public ValueTask SendAsync(string text) => Stream.WriteAsync(Encoding.Latin1.GetBytes(text));

    public ValueTask SendAsync(byte[] bytes) => Stream.WriteAsync(bytes);

    /// <summary>Sends a GET (or <paramref name="method"/>) with a Host header and reads the reply.</summary>
    public async Task<RawResponse> RequestAsync(string target, string method = "GET", string extra = "")
    {
        await SendAsync($"{method} {target} HTTP/1.1\r\nHost: test\r\n{extra}\r\n");
        return await ReadResponseAsync(head: method == "HEAD");
    }

    /// <summary>Reads one reply; <paramref name="head"/>: it answers a HEAD (no body whatever it says).</summary>
    public async Task<RawResponse> ReadResponseAsync(bool head = false)
    {
        string statusLine = await Stream.ReadLineAsync() ?? throw new EndOfStreamException("the server closed before a status line");
        Assert.StartsWith("HTTP/1.1 ", statusLine);
        int status = int.Parse(statusLine.AsSpan(9, 3), CultureInfo.InvariantCulture);
        string reason = statusLine.Length > 13 ? statusLine[13..] : "";
        var headers = new List<KeyValuePair<string, string>>();
        while (true)
        {
            string line = await Stream.ReadLineAsync() ?? throw new EndOfStreamException("the server closed inside a head");
            if (line.Length == 0) break;
            int colon = line.IndexOf(':');
            Assert.True(colon > 0, $"a header line without a colon: {line}");
            headers.Add(new(line[..colon], line[(colon + 1)..].Trim()));
        }
        var response = new RawResponse(status, reason, headers);
        if (head || status is < 200 or 204 or 304) return response;
        if (response.Header("Transfer-Encoding") is { } coding)
        {
            Assert.Equal("chunked", coding);
            Assert.Null(response.Header("Content-Length"));
            var body = new MemoryStream();
            while (true)
            {
                string sizeLine = await Stream.ReadLineAsync() ?? throw new EndOfStreamException("the server closed inside a chunked body");
                int size = int.Parse(sizeLine, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                if (size == 0)
                {
                    Assert.Equal("", await Stream.ReadLineAsync()); // no trailers
                    break;
                }
                var chunk = new byte[size];
                await Stream.ReadExactlyAsync(chunk);
                body.Write(chunk);
                response.ChunkSizes.Add(size);
                Assert.Equal("", await Stream.ReadLineAsync()); // the CRLF after the data
            }
            response.Body = body.ToArray();
        }
        else if (response.Header("Content-Length") is { } length)
        {
            response.Body = new byte[long.Parse(length, CultureInfo.InvariantCulture)];
            await Stream.ReadExactlyAsync(response.Body);
        }
        else
        {
            response.Body = await ReadToEndAsync();
        }
        return response;
    }

    /// <summary>Everything until the server closes (a reset counts as the end).</summary>
    public async Task<byte[]> ReadToEndAsync()
    {
        var all = new MemoryStream();
        var buffer = new byte[16 * 1024];
        try
        {
            int n;
            while ((n = await Stream.ReadAsync(buffer)) > 0) all.Write(buffer, 0, n);
        }
        catch (UvException)
        {
            // ECONNRESET: the server closed with bytes unread; what came before it is all there is.
        }
        return all.ToArray();
    }

    /// <summary>True when the server has closed the connection: a read ends (or resets) with nothing more.</summary>
    public async Task<bool> ServerClosedAsync() => (await ReadToEndAsync()).Length == 0;

    public ValueTask DisposeAsync() => Stream.DisposeAsync();
}
