namespace Evergreen.IO.Http;

/// <summary>One parsed message head: a request line or a status line, and the header fields.</summary>
internal sealed class HttpHead
{
    /// <summary>The request method (requests only), such as <c>GET</c>.</summary>
    public string Method { get; init; } = "";

    /// <summary>The request target (requests only), as sent: <c>/a/b?q=1</c>.</summary>
    public string Target { get; init; } = "";

    /// <summary><c>HTTP/1.1</c> or <c>HTTP/1.0</c>.</summary>
    public string Version { get; init; } = "";

    /// <summary>The status code (responses only).</summary>
    public int StatusCode { get; init; }

    /// <summary>The reason phrase (responses only; may be empty).</summary>
    public string Reason { get; init; } = "";

    /// <summary>The header fields, in order.</summary>
    public required HttpFields Fields { get; init; }

    /// <summary>
    /// Whether the connection stays open after this message: HTTP/1.1 unless
    /// <c>Connection: close</c>; HTTP/1.0 only with <c>Connection: keep-alive</c>. Cleared when the
    /// framing asks for a close (both Transfer-Encoding and Content-Length).
    /// </summary>
    public bool KeepAlive { get; internal set; }

    /// <summary>The head's size on the wire, in bytes.</summary>
    public int Bytes { get; init; }

    public override string ToString() =>
        StatusCode != 0 ? $"{Version} {StatusCode} {Reason} ({Fields.Count} fields)" : $"{Method} {Target} {Version} ({Fields.Count} fields)";
}
