namespace Evergreen.IO.Http;

/// <summary>What was wrong with a malformed HTTP message (see <see cref="MalformedHttpException"/>).</summary>
public enum HttpViolation
{
    /// <summary>The status line of a response is not <c>HTTP/1.x NNN reason</c>.</summary>
    BadStatusLine,

    /// <summary>The request line is not <c>METHOD target HTTP/1.x</c>.</summary>
    BadRequestLine,

    /// <summary>A header line is not <c>name: value</c> (no colon, a bad name, whitespace before the colon, a control character).</summary>
    BadHeaderLine,

    /// <summary>The start line or a header line is longer than the limit.</summary>
    LineTooLong,

    /// <summary>The whole message head is longer than the limit.</summary>
    HeaderSectionTooLong,

    /// <summary>The head has more header fields than the limit.</summary>
    TooManyHeaders,

    /// <summary>A <c>Content-Length</c> that is not a number, or several that disagree.</summary>
    BadContentLength,

    /// <summary>A chunk-size line of a chunked body that is not hexadecimal (or is too long).</summary>
    BadChunkSize,

    /// <summary>A chunk's data is not followed by CRLF.</summary>
    BadChunkEnd,

    /// <summary>A <c>Transfer-Encoding</c> this implementation does not decode (only <c>chunked</c> is).</summary>
    UnsupportedTransferEncoding,

    /// <summary>The connection ended inside the body: fewer bytes than <c>Content-Length</c>, or a chunked body without its last chunk.</summary>
    BodyTooShort,

    /// <summary>The connection ended inside the message head.</summary>
    HeadTooShort,

    /// <summary>
    /// A request whose length two parsers could read two ways (RFC 9112 §11.2, request
    /// smuggling): both <c>Content-Length</c> and <c>Transfer-Encoding</c>, two
    /// <c>Transfer-Encoding</c> fields, <c>chunked</c> applied twice or not last, or whitespace
    /// after it. A server answers 400 and closes.
    /// </summary>
    AmbiguousFraming,
}
