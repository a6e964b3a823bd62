namespace Evergreen.IO.Http;

/// <summary>
/// An HTTP message that breaks the protocol (RFC 9112), from Evergreen's HTTP client or server:
/// <c>malformed HTTP response from 127.0.0.1:8080: bad status line "HTTP/1.1 abc"</c>. The
/// connection it came on is not reused; other connections are unaffected.
/// </summary>
public sealed class MalformedHttpException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="violation">What was wrong.</param>
    /// <param name="detail">What was seen, for the message.</param>
    /// <param name="peer">Where the message came from (an endpoint or URL), or null.</param>
    /// <param name="inRequest">Whether the message was a request (else a response).</param>
    public MalformedHttpException(HttpViolation violation, string detail, string? peer, bool inRequest = false)
        : base($"malformed HTTP {(inRequest ? "request" : "response")}{(peer is null ? "" : $" from {peer}")}: {detail}")
    {
        Violation = violation;
        Peer = peer;
        IsRequest = inRequest;
    }

    /// <summary>What was wrong.</summary>
    public HttpViolation Violation { get; }

    /// <summary>Where the message came from (an endpoint or URL), or null.</summary>
    public string? Peer { get; }

    /// <summary>Whether the malformed message was a request (else a response).</summary>
    public bool IsRequest { get; }

    /// <summary>
    /// For <see cref="HttpViolation.LineTooLong"/>: whether the long line was the start line (a
    /// server answers a long request line 414 URI Too Long, a long header line 431).
    /// </summary>
    internal bool InStartLine { get; init; }
}
