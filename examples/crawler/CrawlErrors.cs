using System.Security.Authentication;
using Evergreen.IO.Http;

namespace Evergreen.Crawler;

/// <summary>
/// The short reasons in a record's <c>error</c> field, a small fixed vocabulary (README.md lists
/// it), and the mapping from what a fetch throws to them.
/// </summary>
public static class CrawlErrors
{
    /// <summary>
    /// The crawl was stopped (Ctrl-C) while this fetch was in flight. The value keeps its
    /// documented spelling "cancelled" (an output format scripts match on); identifiers use .NET's
    /// "Canceled".
    /// </summary>
    public const string Canceled = "cancelled";

    /// <summary>The body was over the size limit; the rest was not read.</summary>
    public const string TooLarge = "too large";

    /// <summary>A redirect pointed back at a URL earlier in the same chain of redirects.</summary>
    public const string RedirectLoop = "redirect loop";

    /// <summary>More redirects in a row than the limit.</summary>
    public const string TooManyRedirects = "too many redirects";

    /// <summary>The connection was refused.</summary>
    public const string Refused = "refused";

    /// <summary>The connection was reset or closed before the response was complete.</summary>
    public const string Reset = "reset";

    /// <summary>The host name did not resolve.</summary>
    public const string Dns = "dns";

    /// <summary>The host could not be reached (no route, network down).</summary>
    public const string Unreachable = "unreachable";

    /// <summary>The TLS handshake failed (certificate, protocol).</summary>
    public const string Tls = "tls";

    /// <summary>Another I/O error.</summary>
    public const string Io = "io";

    /// <summary>"http 404": the server answered with an error status (4xx or 5xx); the record has the status and body size.</summary>
    public static string Http(int status) => $"http {status}";

    /// <summary>"timeout: connect", "timeout: first byte" or "timeout: total": which deadline passed.</summary>
    public static string Timeout(HttpTimeoutPhase phase) => phase switch
    {
        HttpTimeoutPhase.Connect => "timeout: connect",
        HttpTimeoutPhase.FirstByte => "timeout: first byte",
        _ => "timeout: total",
    };

    /// <summary>"malformed: bad status line" and the like: the response broke HTTP/1.1.</summary>
    public static string Malformed(HttpViolation violation) => "malformed: " + violation switch
    {
        HttpViolation.BadStatusLine => "bad status line",
        HttpViolation.BadRequestLine => "bad request line",
        HttpViolation.BadHeaderLine => "bad header line",
        HttpViolation.LineTooLong => "header line too long",
        HttpViolation.HeaderSectionTooLong => "header section too long",
        HttpViolation.TooManyHeaders => "too many headers",
        HttpViolation.BadContentLength => "bad content-length",
        HttpViolation.BadChunkSize => "bad chunk size",
        HttpViolation.BadChunkEnd => "bad chunk end",
        HttpViolation.UnsupportedTransferEncoding => "unsupported transfer-encoding",
        HttpViolation.BodyTooShort => "body too short",
        HttpViolation.HeadTooShort => "head cut short",
        _ => violation.ToString(),
    };

    /// <summary>"malformed: bad content encoding": a gzip, deflate or br body that does not decode.</summary>
    public const string BadEncoding = "malformed: bad content encoding";

    /// <summary>
    /// The reason for a fetch that threw <paramref name="error"/>, or null when it is not a fetch
    /// failure (a bug, a kill): those are not recorded but propagate.
    /// </summary>
    public static string? Classify(Exception error) => error switch
    {
        HttpTimeoutException t => Timeout(t.Phase),
        HttpBodyTooLargeException => TooLarge,
        HttpRedirectException r => r.IsLoop ? RedirectLoop : TooManyRedirects,
        MalformedHttpException m => Malformed(m.Violation),
        UvException uv => uv.ErrorName switch
        {
            "ECONNREFUSED" => Refused,
            "ECONNRESET" or "EPIPE" or "ECONNABORTED" or "EOF" => Reset,
            "ETIMEDOUT" => Timeout(HttpTimeoutPhase.Connect),
            "ENETUNREACH" or "EHOSTUNREACH" or "ENETDOWN" or "EHOSTDOWN" => Unreachable,
            var name when name.StartsWith("EAI_", StringComparison.Ordinal) => Dns,
            _ => Io,
        },
        AuthenticationException => Tls,
        InvalidDataException => BadEncoding,
        EndOfStreamException => Reset,
        TimeoutException => Timeout(HttpTimeoutPhase.Total),
        IOException { InnerException: { } inner } => Classify(inner) ?? Io,
        IOException => Io,
        _ => null,
    };
}
