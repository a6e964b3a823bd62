// HttpSession.ExchangeAsync: one request and its response head, on one pooled connection.
//
// A keep-alive connection the server closed while it sat in the pool may only show it once a
// request is written on it: the write fails (EPIPE, ECONNRESET) or the response head never comes
// (a clean EOF before any byte). Nothing of the request was processed then, so an idempotent
// request is sent again, once, on a new connection opened in the same pool slot; a POST is not
// (the server may have acted on it), and the error says so.
//
// The request head is written into the connection's own buffer, reused request after request,
// and a small body goes in the same buffer so a request is one write.

using System.Buffers;
using System.Runtime.CompilerServices;

namespace Evergreen.IO.Http;

public sealed partial class HttpSession
{
    /// <summary>Bodies up to this size are sent in the same write as the head.</summary>
    private const int InlineBodyBytes = 16 * 1024;

    /// <summary>
    /// Sends one request and reads the response head; the returned response owns the connection
    /// until its body is read (or right away gives it back when there is no body).
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<HttpSessionResponse> ExchangeAsync(string method, Uri url, ReadOnlyMemory<byte> body, string? contentType, HttpFields? headers)
    {
        var pool = PoolFor(HttpOrigin.Of(url));
        var connection = await pool.TakeAsync() ?? await ConnectAsync(pool, method, url);
        string peer = url.AbsoluteUri;
        bool retried = false;
        while (true)
        {
            bool reused = connection.Exchanges > 0;
            bool retry = reused && !retried && IsIdempotent(method);
            HttpHead? head;
            try
            {
                WriteRequestHead(connection, pool, method, url, body, contentType, headers);
                try
                {
                    var written = connection.RequestHead.WrittenMemory;
                    await connection.Stream.WriteAsync(written);
                    if (body.Length > InlineBodyBytes) await connection.Stream.WriteAsync(body);
                    head = await ReadHeadAsync(connection, method, url, peer);
                }
                catch (UvException) when (retry)
                {
                    head = null; // the reused connection was reset: the server had closed it
                }
                if (head is null && !retry)
                {
                    throw new IOException(reused
                        ? $"{method} {peer}: the server closed the reused keep-alive connection before answering; a {method} is not sent twice (it is not idempotent)"
                        : $"{method} {peer}: the server closed the connection without sending a response");
                }
            }
            catch
            {
                pool.Return(connection, reusable: false);
                throw;
            }
            if (head is null)
            {
                retried = true;
                connection.Close();
                connection = await ConnectAsync(pool, method, url);
                continue;
            }
            try
            {
                return StartResponse(connection, head, method, url, peer, headers);
            }
            catch
            {
                pool.Return(connection, reusable: false);
                throw;
            }
        }
    }

    /// <summary>GET, HEAD, PUT, DELETE, OPTIONS and TRACE may be sent twice (RFC 9110 §9.2.2).</summary>
    private static bool IsIdempotent(string method) => method is "GET" or "HEAD" or "PUT" or "DELETE" or "OPTIONS" or "TRACE";

    /// <summary>
    /// Reads the final response head, skipping 1xx interim responses, under the first-byte
    /// timeout. Null when the connection ended before any byte.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<HttpHead?> ReadHeadAsync(HttpSessionConnection connection, string method, Uri url, string peer)
    {
        var options = Options;
        var timeout = options.FirstByteTimeout;
        // A first-byte deadline at or past the total one can never fire first: no scope for it.
        bool covered = options.TotalTimeout != Timeout.InfiniteTimeSpan && timeout >= options.TotalTimeout;
        using var scope = covered ? null : ScopeFor(timeout);
        try
        {
            var limits = options.HeadLimits;
            bool interim = false;
            while (true)
            {
                var head = await HttpWire.ReadResponseHeadAsync(connection.Stream, limits, peer);
                if (head is null && interim)
                {
                    throw new MalformedHttpException(HttpViolation.HeadTooShort, "the connection closed after an interim (1xx) response, before the final one", peer);
                }
                if (head is null || head.StatusCode >= 200 || head.StatusCode == 101) return head;
                interim = true; // 100 Continue, 103 Early Hints: the final response follows
            }
        }
        catch (Exception e) when (IsExpiryOf(e, scope))
        {
            throw new HttpTimeoutException(HttpTimeoutPhase.FirstByte, url,
                $"{method} {url.AbsoluteUri}: no response within the {Timeouts.Describe(timeout)} first-byte timeout (FirstByteTimeout)", e);
        }
    }

    /// <summary>Makes the response for <paramref name="head"/> and starts reading its body.</summary>
    private HttpSessionResponse StartResponse(HttpSessionConnection connection, HttpHead head, string method, Uri url, string peer, HttpFields? headers)
    {
        var options = Options;
        var framing = HttpWire.ResponseFraming(head, requestWasHead: method == "HEAD", peer);
        connection.Exchanges++;
        bool keepAlive = head.KeepAlive && framing.Kind != HttpBodyKind.UntilClose && !(headers?.HasToken("Connection", "close") ?? false);
        connection.Body.Start(connection.Stream, framing, options.HeadLimits, peer);
        var response = new HttpSessionResponse(connection, head, method, url, options.MaxBodyBytes, options.AutomaticDecompression, keepAlive);
        if (connection.Body.IsComplete) response.FinishBody(); // no body: the connection goes back now
        return response;
    }

    /// <summary>Writes the request line, the header fields and (when small) the body into the connection's head buffer.</summary>
    private void WriteRequestHead(HttpSessionConnection connection, HttpOriginPool pool, string method, Uri url,
        ReadOnlyMemory<byte> body, string? contentType, HttpFields? headers)
    {
        var options = Options;
        var w = connection.RequestHead;
        w.ResetWrittenCount();
        HttpWire.WriteAscii(method, w);
        w.Write(" "u8);
        HttpWire.WriteAscii(url.PathAndQuery, w);
        w.Write(" HTTP/1.1\r\n"u8);
        if (headers is null || !(headers.Contains("Host") || headers.Contains("User-Agent") || headers.Contains("Accept-Encoding")))
        {
            w.Write(pool.CommonHead(options));
        }
        else
        {
            if (!headers.Contains("Host")) WriteField(w, "Host", pool.Origin.HostHeader);
            if (!headers.Contains("User-Agent")) WriteField(w, "User-Agent", options.UserAgent);
            if (options.AutomaticDecompression && !headers.Contains("Accept-Encoding")) WriteField(w, "Accept-Encoding", AcceptEncoding);
        }
        if (!body.IsEmpty || method is "POST" or "PUT" or "PATCH")
        {
            w.Write("Content-Length: "u8);
            var digits = w.GetSpan(20);
            ((long)body.Length).TryFormat(digits, out int n);
            w.Advance(n);
            w.Write("\r\n"u8);
        }
        if (contentType is not null && !(headers?.Contains("Content-Type") ?? false)) WriteField(w, "Content-Type", contentType);
        if (headers is not null) HttpWire.WriteFields(headers, w);
        w.Write("\r\n"u8);
        if (!body.IsEmpty && body.Length <= InlineBodyBytes) w.Write(body.Span);
    }

    private static void WriteField(ArrayBufferWriter<byte> w, string name, string value)
    {
        HttpWire.WriteAscii(name, w);
        w.Write(": "u8);
        HttpWire.WriteAscii(value, w);
        w.Write("\r\n"u8);
    }
}
