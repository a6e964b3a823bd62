using System.Text;

namespace Evergreen.IO.Http;

// The grammar of start lines and fields, and body framing (RFC 9112 §3, §4, §5, §6).
internal static partial class HttpWire
{
    public const string Http11 = "HTTP/1.1";
    public const string Http10 = "HTTP/1.0";

    // tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
    private static readonly bool[] s_token = BuildTokenTable();

    // Names seen in nearly every message, handed out instead of a fresh string each time.
    private static readonly string[] s_knownNames =
    [
        "Host", "User-Agent", "Accept", "Accept-Encoding", "Accept-Language", "Connection", "Content-Length",
        "Content-Type", "Content-Encoding", "Transfer-Encoding", "Date", "Server", "Location", "Last-Modified",
        "ETag", "Cache-Control", "Expires", "Vary", "Keep-Alive", "Accept-Ranges", "Set-Cookie", "Cookie",
        "Referer", "Expect", "Upgrade", "If-Modified-Since", "If-None-Match", "Content-Range", "Range", "Age",
        "Allow", "Retry-After", "Trailer", "X-Content-Type-Options", "Strict-Transport-Security",
    ];

    private static readonly string[] s_knownMethods = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE"];

    private static readonly string[] s_knownReasons = ["OK", "Not Found", "Moved Permanently", "Found", "See Other", "Not Modified", "Internal Server Error", "No Content"];

    /// <summary>Whether <paramref name="b"/> may appear in a token (method, field name).</summary>
    public static bool IsTokenChar(byte b) => b < 128 && s_token[b];

    private static bool[] BuildTokenTable()
    {
        var table = new bool[128];
        for (int c = '0'; c <= '9'; c++) table[c] = true;
        for (int c = 'a'; c <= 'z'; c++) table[c] = true;
        for (int c = 'A'; c <= 'Z'; c++) table[c] = true;
        foreach (char c in "!#$%&'*+-.^_`|~") table[c] = true;
        return table;
    }

    private static bool IsToken(ReadOnlySpan<byte> text)
    {
        if (text.IsEmpty) return false;
        foreach (byte b in text)
        {
            if (!IsTokenChar(b)) return false;
        }
        return true;
    }

    private static string? Version(ReadOnlySpan<byte> text) =>
        text.SequenceEqual("HTTP/1.1"u8) ? Http11 : text.SequenceEqual("HTTP/1.0"u8) ? Http10 : null;

    private static string Intern(ReadOnlySpan<byte> text, string[] known, bool ignoreCase = true)
    {
        foreach (var candidate in known)
        {
            if (candidate.Length != text.Length) continue;
            if (ignoreCase ? Ascii.EqualsIgnoreCase(text, candidate) : Ascii.Equals(text, candidate)) return candidate;
        }
        return Latin1(text);
    }

    private static void ParseRequestLine(ReadOnlySpan<byte> line, string peer, out string method, out string target, out string version)
    {
        int sp1 = line.IndexOf((byte)' ');
        int sp2 = sp1 < 0 ? -1 : line[(sp1 + 1)..].IndexOf((byte)' ');
        if (sp1 <= 0 || sp2 <= 0) throw BadStart(line, "not METHOD SP target SP version", peer, request: true);
        var methodBytes = line[..sp1];
        var targetBytes = line.Slice(sp1 + 1, sp2);
        var versionBytes = line[(sp1 + 1 + sp2 + 1)..];
        if (!IsToken(methodBytes)) throw BadStart(line, "the method is not a token", peer, request: true);
        foreach (byte b in targetBytes)
        {
            if (b <= 0x20 || b == 0x7f) throw BadStart(line, "a control character or space in the target", peer, request: true);
        }
        version = Version(versionBytes) ?? throw BadStart(line, "the version is not HTTP/1.1 or HTTP/1.0", peer, request: true);
        method = Intern(methodBytes, s_knownMethods, ignoreCase: false); // methods are case-sensitive
        target = Latin1(targetBytes);
    }

    private static void ParseStatusLine(ReadOnlySpan<byte> line, string peer, out string version, out int status, out string reason)
    {
        // HTTP-version SP 3DIGIT SP [reason]; the SP before an empty reason is often missing: accept that.
        if (line.Length < 12 || line[8] != (byte)' ') throw BadStart(line, "not HTTP/1.x NNN reason", peer, request: false);
        version = Version(line[..8]) ?? throw BadStart(line, "the version is not HTTP/1.1 or HTTP/1.0", peer, request: false);
        var code = line.Slice(9, 3);
        if (!char.IsAsciiDigit((char)code[0]) || !char.IsAsciiDigit((char)code[1]) || !char.IsAsciiDigit((char)code[2]) || code[0] == (byte)'0')
        {
            throw BadStart(line, "the status code is not three digits", peer, request: false);
        }
        status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
        if (line.Length > 12 && line[12] != (byte)' ') throw BadStart(line, "the status code is not three digits", peer, request: false);
        var reasonBytes = line.Length > 13 ? line[13..] : default;
        foreach (byte b in reasonBytes)
        {
            if (b < 0x20 && b != (byte)'\t' || b == 0x7f) throw BadStart(line, "a control character in the reason phrase", peer, request: false);
        }
        reason = Intern(reasonBytes, s_knownReasons);
    }

    private static void ParseField(ReadOnlySpan<byte> line, string peer, bool request, HttpFields into)
    {
        int colon = line.IndexOf((byte)':');
        if (colon < 0) throw BadHeader(line, "a header line without a colon", peer, request);
        var name = line[..colon];
        if (name.IsEmpty) throw BadHeader(line, "a header line with an empty name", peer, request);
        if (name[^1] is (byte)' ' or (byte)'\t') throw BadHeader(line, "whitespace between a header name and its colon", peer, request);
        if (!IsToken(name)) throw BadHeader(line, "a header name with a character outside the token set", peer, request);
        var raw = line[(colon + 1)..];
        var value = raw.Trim(" \t"u8);
        foreach (byte b in value)
        {
            // field-value is VCHAR, obs-text, SP and HTAB (RFC 9110 §5.5). A response's odd
            // control byte is tolerated (the client is its last reader), but for NUL, CR and LF,
            // which §5.5 says to reject; a request's is refused, since a proxy in front of us may
            // have read the line differently.
            if (b < 0x20 && b != (byte)'\t' || b == 0x7f)
            {
                if (request || b is 0 or (byte)'\r' or (byte)'\n') throw BadHeader(line, $"the control byte 0x{b:x2} inside a header value", peer, request);
            }
        }
        var known = Intern(name, s_knownNames);
        if (request && value.Length != raw.Length && raw[^1] is (byte)' ' or (byte)'\t' && ReferenceEquals(known, "Transfer-Encoding"))
        {
            // "chunked\t": nginx reads it as an unknown coding, we (per §5.5) as chunked.
            throw new MalformedHttpException(HttpViolation.AmbiguousFraming,
                $"bad header line \"{Shown(line)}\" (whitespace after the Transfer-Encoding value: a proxy may read another coding)", peer, request);
        }
        into.AddUnchecked(known, Latin1(value));
    }

    private static MalformedHttpException BadStart(ReadOnlySpan<byte> line, string why, string peer, bool request) =>
        new(request ? HttpViolation.BadRequestLine : HttpViolation.BadStatusLine,
            $"bad {(request ? "request" : "status")} line \"{Shown(line)}\" ({why})", peer, request);

    private static MalformedHttpException BadHeader(ReadOnlySpan<byte> line, string why, string peer, bool request) =>
        new(HttpViolation.BadHeaderLine, $"bad header line \"{Shown(line)}\" ({why})", peer, request);

    /// <summary>How a response's body is delimited (RFC 9112 §6.3); may clear <see cref="HttpHead.KeepAlive"/>.</summary>
    /// <param name="head">The response head.</param>
    /// <param name="requestWasHead">Whether the request was HEAD (no body whatever the head says).</param>
    /// <param name="peer">For error messages.</param>
    /// <exception cref="MalformedHttpException">Content-Length values that are not numbers or disagree.</exception>
    public static HttpBodyFraming ResponseFraming(HttpHead head, bool requestWasHead, string? peer = null)
    {
        int status = head.StatusCode;
        if (requestWasHead || status < 200 || status == 204 || status == 304) return HttpBodyFraming.None;
        var fields = head.Fields;
        if (fields.Contains("Transfer-Encoding"))
        {
            if (fields.Contains("Content-Length")) head.KeepAlive = false; // a smuggling shape: never reuse
            if (LastCodingIsChunked(fields)) return new HttpBodyFraming(HttpBodyKind.Chunked);
            head.KeepAlive = false;
            return new HttpBodyFraming(HttpBodyKind.UntilClose);
        }
        long length = ContentLength(fields, peer, request: false);
        if (length >= 0) return new HttpBodyFraming(HttpBodyKind.Length, length);
        head.KeepAlive = false;
        return new HttpBodyFraming(HttpBodyKind.UntilClose);
    }

    /// <summary>
    /// How a request's body is delimited (RFC 9112 §6.3), refusing every shape two parsers could
    /// read two ways (§11.2, request smuggling): a request has at most one Transfer-Encoding
    /// field, chunked exactly once and last, and never a Content-Length beside it.
    /// </summary>
    /// <exception cref="MalformedHttpException">A bad or ambiguous length, or a transfer coding other than chunked.</exception>
    public static HttpBodyFraming RequestFraming(HttpHead head, string? peer = null)
    {
        var fields = head.Fields;
        if (fields.Contains("Transfer-Encoding"))
        {
            var codings = fields.GetAll("Transfer-Encoding");
            // §6.1: "A server MAY reject a request that contains both Content-Length and
            // Transfer-Encoding [...] Regardless, the server MUST close the connection": we reject.
            if (fields.Contains("Content-Length")) throw Ambiguous("both Content-Length and Transfer-Encoding", codings, peer);
            if (codings.Count > 1) throw Ambiguous("two Transfer-Encoding fields", codings, peer);
            int chunked = CountChunked(codings[0]);
            // §6.1: "A sender MUST NOT apply the chunked transfer coding more than once".
            if (chunked > 1) throw Ambiguous("chunked applied more than once", codings, peer);
            // §6.3: "If a Transfer-Encoding header field is present in a request and the chunked
            // transfer coding is not the final encoding, [...] the server MUST respond with the
            // 400 (Bad Request) status code and then close the connection."
            if (!LastCodingIsChunked(fields)) throw Ambiguous("chunked is not the last coding", codings, peer);
            if (chunked != 1 || codings[0].Contains(','))
            {
                throw new MalformedHttpException(HttpViolation.UnsupportedTransferEncoding,
                    $"Transfer-Encoding \"{codings[0]}\" (only chunked is supported)", peer, inRequest: true);
            }
            return new HttpBodyFraming(HttpBodyKind.Chunked);
        }
        long length = ContentLength(fields, peer, request: true);
        return length > 0 ? new HttpBodyFraming(HttpBodyKind.Length, length) : HttpBodyFraming.None;
    }

    private static MalformedHttpException Ambiguous(string what, IReadOnlyList<string> codings, string? peer) =>
        new(HttpViolation.AmbiguousFraming, $"{what} (Transfer-Encoding \"{string.Join("\", \"", codings)}\"): a proxy may read another length", peer, inRequest: true);

    private static int CountChunked(string value)
    {
        int count = 0;
        foreach (var range in value.AsSpan().Split(','))
        {
            if (value.AsSpan(range).Trim(" \t").Equals("chunked", StringComparison.OrdinalIgnoreCase)) count++;
        }
        return count;
    }

    private static bool LastCodingIsChunked(HttpFields fields)
    {
        var all = fields.GetAll("Transfer-Encoding");
        var last = all[^1].AsSpan();
        int comma = last.LastIndexOf(',');
        return last[(comma + 1)..].Trim(" \t").Equals("chunked", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The Content-Length, -1 if absent; several equal values count as one (RFC 9110 §8.6).</summary>
    private static long ContentLength(HttpFields fields, string? peer, bool request)
    {
        long length = -1;
        for (int i = 0; i < fields.Count; i++)
        {
            if (!string.Equals(fields.NameAt(i), "Content-Length", StringComparison.OrdinalIgnoreCase)) continue;
            string value = fields.ValueAt(i);
            foreach (var range in value.AsSpan().Split(','))
            {
                var text = value.AsSpan(range).Trim(" \t");
                if (text.IsEmpty || text.Length > 18 || !IsDigits(text))
                {
                    throw new MalformedHttpException(HttpViolation.BadContentLength, $"Content-Length \"{value}\" is not a number", peer, request);
                }
                long parsed = long.Parse(text);
                if (length >= 0 && parsed != length)
                {
                    throw new MalformedHttpException(HttpViolation.BadContentLength, $"Content-Length values disagree ({length} and {parsed})", peer, request);
                }
                length = parsed;
            }
        }
        return length;
    }

    private static bool IsDigits(ReadOnlySpan<char> text)
    {
        foreach (char c in text)
        {
            if (!char.IsAsciiDigit(c)) return false;
        }
        return true;
    }
}
