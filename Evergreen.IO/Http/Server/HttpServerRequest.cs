using System.Diagnostics;
using System.Net;

namespace Evergreen.IO.Http;

/// <summary>
/// One request an <see cref="HttpServer"/> received, handed to an <see cref="HttpHandler"/>: its
/// request line split up, its header fields, and its whole body (read before the handler runs, up
/// to <see cref="HttpServerOptions.MaxBodyBytes"/>). A plain object: nothing here reads or waits.
/// </summary>
[DebuggerDisplay("{Method,nq} {Target,nq} {Version,nq}")]
public sealed class HttpServerRequest
{
    internal HttpServerRequest(string method, string target, string path, string query, string version,
        HttpFields headers, ReadOnlyMemory<byte> body, EndPoint? remoteEndPoint, bool keepAlive)
    {
        Method = method;
        Target = target;
        Path = path;
        Query = query;
        Version = version;
        Headers = headers;
        Body = body;
        RemoteEndPoint = remoteEndPoint;
        KeepAlive = keepAlive;
        IsHead = method == "HEAD";
    }

    /// <summary>The method, as sent ("GET", "POST"; methods are case-sensitive).</summary>
    public string Method { get; }

    /// <summary>The request target as sent: "/a/b?x=1" (or an absolute URL, or "*").</summary>
    public string Target { get; }

    /// <summary>The path of the target, raw (still percent-encoded), without the query: "/a/b".</summary>
    public string Path { get; }

    /// <summary>The query of the target, raw, without the '?': "x=1"; empty when there is none.</summary>
    public string Query { get; }

    /// <summary>The protocol version: "HTTP/1.1" or "HTTP/1.0".</summary>
    public string Version { get; }

    /// <summary>The request's header fields, in order (names case-insensitive).</summary>
    public HttpFields Headers { get; }

    /// <summary>The whole body (de-chunked); empty when the request has none.</summary>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>The client's address and port.</summary>
    public EndPoint? RemoteEndPoint { get; }

    /// <summary>
    /// For a route ending in "/*", the part of <see cref="Path"/> after the prefix: "css/site.css"
    /// for "/static/css/site.css" on "/static/*" (empty for "/static" itself); empty on an exact route.
    /// </summary>
    public string RouteRest { get; internal set; } = "";

    /// <summary>Whether the client asked to keep the connection (its version and Connection header).</summary>
    internal bool KeepAlive { get; }

    /// <summary>Whether this is a HEAD request (the reply carries no body).</summary>
    internal bool IsHead { get; }

    /// <summary>The request line: "GET /a?x=1 HTTP/1.1".</summary>
    public override string ToString() => $"{Method} {Target} {Version}";
}
