using System.Text;

namespace Evergreen.IO.Http;

/// <summary>Reason phrases (RFC 9110 §15) and the status lines the server writes, made once per code.</summary>
internal static class HttpStatusText
{
    private static readonly byte[]?[] s_lines = new byte[600][];

    /// <summary>"OK" for 200, "Not Found" for 404; "" for a code without a registered phrase.</summary>
    public static string Reason(int status) => status switch
    {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    };

    /// <summary>
    /// "HTTP/1.1 200 OK\r\n" as bytes, cached for 100..599. Loops on several threads may build
    /// the same line at once; they build equal bytes, so either copy may stay.
    /// </summary>
    public static ReadOnlySpan<byte> StatusLine(int status)
    {
        if ((uint)status >= (uint)s_lines.Length) return Build(status);
        return s_lines[status] ??= Build(status);
    }

    private static byte[] Build(int status) => Encoding.ASCII.GetBytes($"HTTP/1.1 {status} {Reason(status)}\r\n");
}
