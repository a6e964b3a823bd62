// Reading a request past its head: the checks a head must pass (Host, framing), then, once the
// request has a handler (routing comes first: a 404 reads no body), its body.
//
// A body is read into a buffer that grows as its bytes arrive, never allocated at its declared
// Content-Length: a head that promises a megabyte and sends nothing costs nothing. Each growth is
// taken from the server-wide budget (MaxBodyBytesInFlight) and given back when the handler
// returns; a growth the budget cannot cover is answered 503 at once. Refusing rather than waiting
// keeps every body's memory bounded without letting half-read bodies hold each other up.
namespace Evergreen.IO.Http;

public sealed partial class HttpServer
{
    private static readonly ReadOnlyMemory<byte> s_continue = "HTTP/1.1 100 Continue\r\n\r\n"u8.ToArray();

    /// <summary>The smallest body buffer (and the least it grows by).</summary>
    internal const int MinBodyBuffer = 4096;

    private long _bodyBytesHeld;

    /// <summary>The bytes of request body buffers held now, across connections (at most <see cref="HttpServerOptions.MaxBodyBytesInFlight"/>).</summary>
    internal long BodyBytesHeld => _bodyBytesHeld;

    /// <summary>
    /// The checks a request head must pass before it is routed: one Host (HTTP/1.1), a target
    /// that is a path, and a framing that cannot be read two ways. Status 0 when it passes.
    /// </summary>
    private static (int Status, string? Why) CheckHead(HttpServerConnection conn, HttpHead head, out string path, out string query, out HttpBodyFraming framing)
    {
        framing = HttpBodyFraming.None;
        var fields = head.Fields;
        path = query = "";
        if (head.Version == HttpWire.Http11 && fields.GetAll("Host").Count != 1)
        {
            return (400, $"an HTTP/1.1 request has exactly one Host header (this one has {fields.GetAll("Host").Count})");
        }
        if (!SplitTarget(head.Target, out path, out query))
        {
            return (400, $"the request target \"{head.Target}\" is not a path, an absolute URL or \"*\"");
        }
        try
        {
            framing = HttpWire.RequestFraming(head, conn.Peer);
        }
        catch (MalformedHttpException e)
        {
            return (StatusFor(e), e.Message);
        }
        return (0, null);
    }

    /// <summary>
    /// Reads the body of a routed request whole, under <see cref="HttpServerOptions.MaxBodyBytes"/>,
    /// the server-wide budget and the request timeout. Status 0 when it was read; else the error
    /// reply to send before closing. The caller gives the budget back (<see cref="ReleaseBody"/>).
    /// </summary>
    private async ValueTask<(ReadOnlyMemory<byte> Body, int Status, string? Why)> ReadBodyAsync(HttpServerConnection conn, HttpHead head, HttpBodyFraming framing)
    {
        var options = Options;
        long max = options.MaxBodyBytes;
        if (framing.Kind == HttpBodyKind.Length && framing.Length > max)
        {
            return (default, 413, $"the body's Content-Length of {framing.Length} bytes is over the limit of {max}");
        }
        if (head.Version == HttpWire.Http11 && head.Fields.Get("Expect") is { } expect)
        {
            if (!expect.Equals("100-continue", StringComparison.OrdinalIgnoreCase))
            {
                return (default, 417, $"the expectation \"{expect}\" is not one this server meets (only 100-continue)");
            }
            await conn.WriteAsync(s_continue); // the client waits for it before sending the body
        }
        var scope = CancelScope.FailAfter(options.RequestHeadTimeout);
        try
        {
            var stream = conn.Stream;
            var reader = conn.BodyReader;
            reader.Start(stream, framing, new HttpHeadLimits(options.MaxRequestLineBytes, options.MaxHeadBytes, options.MaxHeaderCount), conn.Peer, request: true, maxBody: max);
            // A counted body fills its length; a chunked one gets a byte of room past the limit,
            // so that a read at the limit can still see the last chunk (the reader refuses more).
            long bound = framing.Kind == HttpBodyKind.Length ? framing.Length : max + 1;
            byte[] body = [];
            int got = 0;
            while (!reader.IsComplete)
            {
                if (got == body.Length)
                {
                    // Nothing is allocated until bytes are there to fill it.
                    if (stream.Available == 0) await stream.FindInBufferAsync(s_lf, 1, "HttpServer");
                    long size = Math.Min(bound, Math.Max(Math.Max(MinBodyBuffer, 2L * body.Length), got + (long)stream.Available));
                    if (!TryHoldBody(conn, size - body.Length))
                    {
                        return (default, 503, $"the server holds {_bodyBytesHeld} bytes of request bodies, and this one's {size} would pass MaxBodyBytesInFlight ({options.MaxBodyBytesInFlight})");
                    }
                    Array.Resize(ref body, (int)size);
                }
                int n = await reader.ReadAsync(body.AsMemory(got));
                if (n == 0) break;
                got += n;
            }
            return (body.AsMemory(0, got), 0, null);
        }
        catch (MalformedHttpException e)
        {
            return (default, StatusFor(e), e.Message);
        }
        catch (InvalidDataException e)
        {
            return (default, 413, e.Message);
        }
        catch (TimeoutException) when (scope.IsExpired)
        {
            return (default, 408, $"the request body did not arrive within {options.RequestHeadTimeout.TotalSeconds:0.###} s");
        }
        finally
        {
            scope.Dispose();
        }
    }

    /// <summary>Counts <paramref name="bytes"/> more of <paramref name="conn"/>'s body in the budget; false if they do not fit.</summary>
    private bool TryHoldBody(HttpServerConnection conn, long bytes)
    {
        if (_bodyBytesHeld + bytes > Options.MaxBodyBytesInFlight) return false;
        _bodyBytesHeld += bytes;
        conn.BodyBytesHeld += bytes;
        return true;
    }

    /// <summary>Gives back the budget <paramref name="conn"/>'s current body held (its handler returned, or it failed).</summary>
    private void ReleaseBody(HttpServerConnection conn)
    {
        _bodyBytesHeld -= conn.BodyBytesHeld;
        conn.BodyBytesHeld = 0;
    }

    /// <summary>
    /// Splits a request target into its raw path and query: "/a?x" (origin form), "http://h/a?x"
    /// (absolute form, RFC 9112 §3.2.2: the path is taken, the authority left to Host), or "*".
    /// </summary>
    internal static bool SplitTarget(string target, out string path, out string query)
    {
        path = target;
        query = "";
        int start = 0;
        if (target.Length == 0) return false;
        if (target[0] != '/')
        {
            if (target == "*") return true;
            int scheme = target.IndexOf("://", StringComparison.Ordinal);
            if (scheme <= 0 || !IsScheme(target.AsSpan(0, scheme))) return false;
            int slash = target.IndexOf('/', scheme + 3);
            int mark = target.IndexOf('?', scheme + 3);
            if (slash < 0 || mark >= 0 && mark < slash)
            {
                path = "/";
                query = mark < 0 ? "" : target[(mark + 1)..];
                return true;
            }
            start = slash;
        }
        int q = target.IndexOf('?', start);
        if (q < 0)
        {
            if (start > 0) path = target[start..];
            return true;
        }
        path = target[start..q];
        query = target[(q + 1)..];
        return true;
    }

    private static bool IsScheme(ReadOnlySpan<char> s) =>
        s.Equals("http", StringComparison.OrdinalIgnoreCase) || s.Equals("https", StringComparison.OrdinalIgnoreCase);
}
