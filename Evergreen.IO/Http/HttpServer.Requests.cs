// Reading a request past its head: the checks a head must pass (Host, Expect), its body read
// whole under the size limit (413 before reading when Content-Length is too big, 413 as soon as a
// chunked body grows too big), and the target split into path and query.
namespace Evergreen.IO.Http;

public sealed partial class HttpServer
{
    private static readonly ReadOnlyMemory<byte> s_continue = "HTTP/1.1 100 Continue\r\n\r\n"u8.ToArray();

    private async ValueTask<(HttpRequest? Request, int Status, string? Why)> ReadRequestBodyAsync(HttpServerConnection conn, HttpHead head)
    {
        var options = Options;
        var fields = head.Fields;
        bool http11 = head.Version == HttpWire.Http11;
        if (http11 && fields.GetAll("Host").Count != 1)
        {
            return (null, 400, $"an HTTP/1.1 request has exactly one Host header (this one has {fields.GetAll("Host").Count})");
        }
        if (!SplitTarget(head.Target, out string path, out string query))
        {
            return (null, 400, $"the request target \"{head.Target}\" is not a path, an absolute URL or \"*\"");
        }
        HttpBodyFraming framing;
        try
        {
            framing = HttpWire.RequestFraming(head, conn.Peer);
        }
        catch (MalformedHttpException e)
        {
            return (null, StatusFor(e), e.Message);
        }
        ReadOnlyMemory<byte> body = default;
        if (framing.Kind != HttpBodyKind.None)
        {
            if (framing.Kind == HttpBodyKind.Length && framing.Length > options.MaxBodyBytes)
            {
                return (null, 413, $"the body's Content-Length of {framing.Length} bytes is over the limit of {options.MaxBodyBytes}");
            }
            if (http11 && fields.Get("Expect") is { } expect)
            {
                if (!expect.Equals("100-continue", StringComparison.OrdinalIgnoreCase))
                {
                    return (null, 417, $"the expectation \"{expect}\" is not one this server meets (only 100-continue)");
                }
                await conn.WriteAsync(s_continue); // the client waits for it before sending the body
            }
            var scope = CancelScope.FailAfter(options.RequestHeadTimeout);
            try
            {
                var reader = conn.BodyReader;
                reader.Start(conn.Stream, framing, new HttpHeadLimits(options.MaxRequestLineBytes, options.MaxHeadBytes, options.MaxHeaderCount), conn.Peer, request: true);
                body = framing.Kind == HttpBodyKind.Length
                    ? await ReadCountedBodyAsync(reader, (int)framing.Length)
                    : await ReadChunkedBodyAsync(reader, options.MaxBodyBytes);
            }
            catch (MalformedHttpException e)
            {
                return (null, StatusFor(e), e.Message);
            }
            catch (InvalidDataException e)
            {
                return (null, 413, e.Message);
            }
            catch (TimeoutException) when (scope.IsExpired)
            {
                return (null, 408, $"the request body did not arrive within {options.RequestHeadTimeout.TotalSeconds:0.###} s");
            }
            finally
            {
                scope.Dispose();
            }
        }
        var request = new HttpRequest(head.Method, head.Target, path, query, head.Version, fields, body, conn.Stream.RemoteEndPoint, head.KeepAlive);
        return (request, 0, null);
    }

    private static async ValueTask<ReadOnlyMemory<byte>> ReadCountedBodyAsync(HttpBodyReader reader, int length)
    {
        var body = new byte[length];
        int got = 0;
        while (got < length)
        {
            int n = await reader.ReadAsync(body.AsMemory(got));
            if (n == 0) break; // not reached: a short body throws BodyTooShort
            got += n;
        }
        return body;
    }

    /// <summary>Reads a chunked body whole; <see cref="InvalidDataException"/> as soon as it passes <paramref name="max"/>.</summary>
    private static async ValueTask<ReadOnlyMemory<byte>> ReadChunkedBodyAsync(HttpBodyReader reader, long max)
    {
        // One byte of room past the limit tells "exactly at the limit" from "over it".
        long cap = max + 1;
        var body = new byte[(int)Math.Min(cap, 4096)];
        int got = 0;
        while (true)
        {
            if (got == body.Length)
            {
                if (got >= cap) throw new InvalidDataException($"the chunked body grew past the limit of {max} bytes");
                Array.Resize(ref body, (int)Math.Min(cap, (long)body.Length * 2));
            }
            int n = await reader.ReadAsync(body.AsMemory(got));
            if (n == 0) break;
            got += n;
            if (got > max) throw new InvalidDataException($"the chunked body grew past the limit of {max} bytes");
        }
        return body.AsMemory(0, got);
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
