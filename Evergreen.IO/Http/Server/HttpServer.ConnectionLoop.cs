// One connection's life: wait for a request, read it, answer it, and again while it is kept
// alive. Every way a connection ends on the client's side (it leaves, resets, sends garbage,
// stalls) ends the loop quietly, with an error reply when one can still help the client; only a
// handler's own failure is reported, naming the request.
//
// A request is routed from its head, before a byte of its body is read: a request with no
// handler (404, 405) is answered at once, and if it has a body (not already buffered whole),
// the connection closes after the answer instead of reading a body nobody wants.
//
// Time limits are cancel scopes: a new connection must deliver its first request head within
// RequestHeadTimeout; between requests a connection may idle for KeepAliveTimeout, then the next
// head (from its first byte) must arrive within RequestHeadTimeout, and the body as well. Idle
// means "no byte of the next request yet": HttpServer.CloseAsync closes such connections at once.
// Every write of a reply runs under SendTimeout (HttpServerConnection).
namespace Evergreen.IO.Http;

public sealed partial class HttpServer
{
    private static readonly ReadOnlyMemory<byte> s_lf = "\n"u8.ToArray();

    private async Task ServeConnectionAsync(TcpConnection stream)
    {
        if (_closing) return; // accepted just before the close: TcpServer closes it
        var conn = new HttpServerConnection(this, stream);
        _connections.Add(conn);
        try
        {
            await RunConnectionAsync(conn);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The client reset or left, or CloseAsync closed an idle connection: nothing to say.
        }
        finally
        {
            ReleaseBody(conn); // killed mid-request: its body's budget comes back too
            _connections.Remove(conn);
        }
    }

    private async Task RunConnectionAsync(HttpServerConnection conn)
    {
        var stream = conn.Stream;
        bool first = true;
        while (true)
        {
            if (_closing)
            {
                if (stream.Available > 0) await conn.LingerAsync(); // pipelined requests left unanswered
                return;
            }
            var (head, status, why) = await ReadRequestHeadAsync(conn, first);
            first = false;
            if (head is null)
            {
                if (status != 0) await SendErrorAsync(conn, status, why!);
                return;
            }
            (status, why) = CheckHead(conn, head, out string path, out string query, out var framing);
            if (status != 0)
            {
                await SendErrorAsync(conn, status, why!);
                return;
            }
            var route = FindRoute(path);
            var handler = route?.Find(head.Method);
            HttpServerReply reply;
            if (handler is null)
            {
                var request = NewRequest(conn, head, path, query, default);
                RequestCount++;
                bool bodyUnread = framing.Kind != HttpBodyKind.None;
                if (framing.Kind == HttpBodyKind.Length && stream.Available >= framing.Length)
                {
                    stream.Skip((int)framing.Length); // all of it came with the head: dropped, and the connection lives on
                    bodyUnread = false;
                }
                reply = new HttpServerReply(conn, request, request.KeepAlive && !bodyUnread);
                await SendMissAsync(route, request, reply);
                if (bodyUnread)
                {
                    await conn.LingerAsync(); // the body may still be on its way: take and drop it for a moment
                    return;
                }
            }
            else
            {
                try
                {
                    ReadOnlyMemory<byte> body = default;
                    if (framing.Kind != HttpBodyKind.None)
                    {
                        (body, status, why) = await ReadBodyAsync(conn, head, framing);
                        if (status != 0)
                        {
                            ReleaseBody(conn); // before the error reply and its linger, which may take seconds
                            await SendErrorAsync(conn, status, why!);
                            return;
                        }
                    }
                    var request = NewRequest(conn, head, path, query, body);
                    if (route!.IsPrefix) request.RouteRest = route.Rest(path);
                    RequestCount++;
                    reply = new HttpServerReply(conn, request, request.KeepAlive);
                    if (!await AnswerAsync(conn, request, reply, handler)) return;
                }
                finally
                {
                    ReleaseBody(conn);
                }
            }
            if (reply.CloseAfter || conn.Broken)
            {
                // Pipelined requests the client sent after this one stay unanswered: let it read
                // this reply before the connection closes under it.
                if (stream.Available > 0) await conn.LingerAsync();
                return;
            }
        }
    }

    private static HttpServerRequest NewRequest(HttpServerConnection conn, HttpHead head, string path, string query, ReadOnlyMemory<byte> body) =>
        new(head.Method, head.Target, path, query, head.Version, head.Fields, body, conn.Stream.RemoteEndPoint, head.KeepAlive);

    /// <summary>Answers a request no handler takes: 404 for a path with no route, 405 (and Allow) for a method its route lacks.</summary>
    private static ValueTask SendMissAsync(HttpRoute? route, HttpServerRequest request, HttpServerReply reply)
    {
        if (route is null) return reply.SendTextAsync(404, "404 Not Found\n");
        reply.Headers.Set("Allow", route.Allow);
        return reply.SendTextAsync(405, $"405 Method Not Allowed: {request.Method} (allowed: {route.Allow})\n");
    }

    /// <summary>Runs the request's handler and ends its reply; false when the connection must end now.</summary>
    private async ValueTask<bool> AnswerAsync(HttpServerConnection conn, HttpServerRequest request, HttpServerReply reply, HttpHandler handler)
    {
        try
        {
            await handler(request, reply);
            if (!reply.IsEnded) await reply.EndAsync();
            return true;
        }
        catch (Exception e) when (e is not TaskletExit)
        {
            if (conn.Broken && e is IOException or ObjectDisposedException) return false; // the client left mid-reply
            Report(e, request);
            if (reply.HeadersSent || conn.Broken) return false; // half a reply on the wire: only a close ends it
            conn.Out.ResetWrittenCount();
            var error = new HttpServerReply(conn, request, request.KeepAlive);
            await error.SendTextAsync(500, "500 Internal Server Error\n");
            return !error.CloseAfter;
        }
    }

    /// <summary>
    /// Waits for the next request and reads its head. Null and status 0: the client left, or
    /// idled past its time. Null and a status: the error reply to send before closing.
    /// </summary>
    private async ValueTask<(HttpHead? Head, int Status, string? Why)> ReadRequestHeadAsync(HttpServerConnection conn, bool first)
    {
        var options = Options;
        var stream = conn.Stream;
        conn.Held.ResetWrittenCount();
        HttpHead? head;
        // The first request's scope covers its wait and its head; a later one waits under the
        // keep-alive scope, and its head gets a scope of its own from its first byte.
        var headScope = first ? CancelScope.FailAfter(options.RequestHeadTimeout) : null;
        try
        {
            if (stream.Available == 0)
            {
                using var idleScope = first ? null : CancelScope.FailAfter(options.KeepAliveTimeout);
                conn.Idle = true;
                try
                {
                    // Waits for one byte without taking it: a 1-byte window holds a line end or not.
                    if (await stream.FindInBufferAsync(s_lf, 1, "HttpServer") == -1) return (null, 0, null);
                }
                catch (TimeoutException) when (idleScope?.IsExpired ?? headScope!.IsExpired)
                {
                    return (null, 0, null); // idle too long: close without a word
                }
                finally
                {
                    conn.Idle = false;
                }
            }
            headScope ??= CancelScope.FailAfter(options.RequestHeadTimeout);
            var limits = new HttpHeadLimits(options.MaxRequestLineBytes, options.MaxHeadBytes, options.MaxHeaderCount);
            head = await HttpWire.ReadRequestHeadAsync(stream, limits, conn.Peer);
            if (head is null) return (null, 0, null);
        }
        catch (MalformedHttpException e)
        {
            return (null, StatusFor(e), e.Message);
        }
        catch (TimeoutException) when (headScope?.IsExpired == true)
        {
            return (null, 408, $"the request head did not arrive within {options.RequestHeadTimeout.TotalSeconds:0.###} s");
        }
        finally
        {
            headScope?.Dispose();
        }
        return (head, 0, null);
    }

    /// <summary>The error status for a malformed request.</summary>
    private static int StatusFor(MalformedHttpException e) => e.Violation switch
    {
        HttpViolation.LineTooLong => e.InStartLine ? 414 : 431,
        HttpViolation.HeaderSectionTooLong or HttpViolation.TooManyHeaders => 431,
        HttpViolation.UnsupportedTransferEncoding => 501,
        HttpViolation.AmbiguousFraming => 400,
        _ => 400,
    };

    /// <summary>
    /// Answers a request that cannot be served (malformed, over a limit, too slow) with
    /// <paramref name="status"/> and <c>Connection: close</c>, then closes, reading what the
    /// client still sends for a moment so that it gets to read the answer.
    /// </summary>
    private static async ValueTask SendErrorAsync(HttpServerConnection conn, int status, string why)
    {
        if (conn.Broken || conn.Stream.IsClosed) return;
        var reply = new HttpServerReply(conn, null, keepAlive: false);
        if (status == 503) reply.Headers.Set("Retry-After", "1"); // the budget frees as handlers return
        var scope = CancelScope.FailAfter(conn.Server.Options.RequestHeadTimeout);
        try
        {
            await reply.SendTextAsync(status, $"{status} {HttpStatusText.Reason(status)}: {why}\n");
        }
        catch (TimeoutException) when (scope.IsExpired)
        {
            return; // the client does not read: close
        }
        finally
        {
            scope.Dispose();
        }
        await conn.LingerAsync();
    }
}
