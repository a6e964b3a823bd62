namespace Evergreen.IO.Http;

/// <summary>
/// One of an <see cref="HttpSession"/>'s own timeouts expired:
/// <c>GET http://127.0.0.1:8080/slow: no response within the 2 s first-byte timeout</c>. The
/// connection in use was closed. A deadline of the caller's own (an enclosing
/// <see cref="CancelScope"/>) is not relabelled: it surfaces as that scope's
/// <see cref="TimeoutException"/>.
/// </summary>
public sealed class HttpTimeoutException : TimeoutException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="phase">Which timeout expired.</param>
    /// <param name="url">The URL being fetched when it expired.</param>
    /// <param name="message">What happened, naming the method, the URL and the timeout.</param>
    /// <param name="innerException">The cancel scope's own <see cref="TimeoutException"/>, or null.</param>
    public HttpTimeoutException(HttpTimeoutPhase phase, Uri url, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        ArgumentNullException.ThrowIfNull(url);
        Phase = phase;
        Url = url;
    }

    /// <summary>Which timeout expired.</summary>
    public HttpTimeoutPhase Phase { get; }

    /// <summary>The URL being fetched when it expired (after redirects, the one in progress).</summary>
    public Uri Url { get; }
}
