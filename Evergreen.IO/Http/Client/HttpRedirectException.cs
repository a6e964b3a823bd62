namespace Evergreen.IO.Http;

/// <summary>
/// A call's redirects could not be followed: a loop (the same request twice in a chain), more
/// than <see cref="HttpSessionOptions.MaxRedirects"/>, or a <c>Location</c> that is not an http
/// or https URL. The message names the chain:
/// <c>GET http://a/1: redirect loop: http://a/1 -> http://a/2 -> http://a/1</c>.
/// </summary>
public sealed class HttpRedirectException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="chain">The URLs that answered with a redirect, in order.</param>
    /// <param name="isLoop">Whether the chain came back to a request it had already made.</param>
    /// <param name="message">What happened, naming the chain.</param>
    public HttpRedirectException(IReadOnlyList<Uri> chain, bool isLoop, string message) : base(message)
    {
        ArgumentNullException.ThrowIfNull(chain);
        Chain = chain;
        IsLoop = isLoop;
    }

    /// <summary>The URLs that answered with a redirect, in order (the first is the URL called).</summary>
    public IReadOnlyList<Uri> Chain { get; }

    /// <summary>True for a loop; false for too many redirects or a bad <c>Location</c>.</summary>
    public bool IsLoop { get; }
}
