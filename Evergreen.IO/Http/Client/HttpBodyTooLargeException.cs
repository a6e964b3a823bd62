namespace Evergreen.IO.Http;

/// <summary>
/// A response body passed <see cref="HttpSessionOptions.MaxBodyBytes"/>:
/// <c>GET http://host/big: the body exceeds the 1 MiB limit (MaxBodyBytes); the request was aborted</c>.
/// The connection was closed rather than drained.
/// </summary>
public sealed class HttpBodyTooLargeException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="limit">The limit that was passed, in bytes.</param>
    /// <param name="url">The URL whose body was too large.</param>
    /// <param name="message">What happened, naming the method, the URL and the limit.</param>
    public HttpBodyTooLargeException(long limit, Uri url, string message) : base(message)
    {
        ArgumentNullException.ThrowIfNull(url);
        Limit = limit;
        Url = url;
    }

    /// <summary>The limit that was passed, in bytes.</summary>
    public long Limit { get; }

    /// <summary>The URL whose body was too large.</summary>
    public Uri Url { get; }
}
