// HttpSession.SendCoreAsync: one call, from the URL to the final response.
//
// The call runs in the caller's tasklet under cancel scopes, the one way deadlines reach parks:
// TotalTimeout over the whole call here, ConnectTimeout around opening a connection and
// FirstByteTimeout around waiting for the response head (HttpSession.Exchange.cs). A scope's
// TimeoutException names its scope (Data["Evergreen.CancelScope"]), so each catch turns only its
// own scope's expiry into an HttpTimeoutException; an enclosing scope of the caller's that expires
// is the outermost expired scope and its exception passes through untouched. Nothing here waits
// after a failure: the connection in use is closed synchronously, so a kill or an expired scope
// (which aborts every later park inside it) cannot strand it.

using System.Runtime.CompilerServices;

namespace Evergreen.IO.Http;

public sealed partial class HttpSession
{
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<HttpSessionResponse> SendCoreAsync(string method, Uri url, ReadOnlyMemory<byte> body,
        string? contentType, HttpFields? headers, bool streamBody)
    {
        ArgumentNullException.ThrowIfNull(url);
        CheckUsable();
        CheckRequest(method, url, headers);
        var totalTimeout = Options.TotalTimeout;
        var current = url;
        using var total = totalTimeout == Timeout.InfiniteTimeSpan ? null : CancelScope.FailAfter(totalTimeout);
        try
        {
            RedirectState? redirects = null;
            while (true)
            {
                var response = await ExchangeAsync(method, current, body, contentType, headers);
                try
                {
                    if (IsRedirect(response.StatusCode) && Options.MaxRedirects > 0 && response.Headers.Get("Location") is { } location)
                    {
                        redirects ??= new RedirectState(method, url);
                        var next = NextRequest(redirects, response, location, ref method, ref body, ref contentType, ref headers);
                        await response.DrainForRedirectAsync();
                        current = next;
                        continue;
                    }
                    response.RedirectChain = redirects?.Chain ?? (IReadOnlyList<Uri>)Array.Empty<Uri>();
                    if (!streamBody) await response.BufferBodyAsync();
                    return response;
                }
                catch
                {
                    response.Abort();
                    throw;
                }
            }
        }
        catch (Exception e) when (IsExpiryOf(e, total))
        {
            throw new HttpTimeoutException(HttpTimeoutPhase.Total, current,
                $"{method} {current.AbsoluteUri}: the call did not complete within the {Timeouts.Describe(totalTimeout)} total timeout (TotalTimeout)", e);
        }
    }

    /// <summary>Refuses what cannot be sent, before anything is opened.</summary>
    private static void CheckRequest(string method, Uri url, HttpFields? headers)
    {
        if (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"an HttpSession fetches absolute http and https URLs, not \"{url.OriginalString}\"", nameof(url));
        }
        foreach (char c in method)
        {
            // A token (RFC 9110 §5.6.2): visible ASCII but separators.
            if (c <= ' ' || c >= 0x7f || "\"(),/:;<=>?@[\\]{}".Contains(c))
            {
                throw new ArgumentException($"\"{method}\" is not an HTTP method (a method is a token: letters, digits and !#$%&'*+-.^_`|~)", nameof(method));
            }
        }
        if (headers is not null && (headers.Contains("Content-Length") || headers.Contains("Transfer-Encoding")))
        {
            throw new ArgumentException("headers: Content-Length and Transfer-Encoding are set by the HttpSession from the body; remove them", nameof(headers));
        }
    }

    /// <summary>
    /// Whether <paramref name="error"/> (or an exception it wraps: SslStream wraps the errors of a
    /// handshake) is the expiry of <paramref name="scope"/>, one of the session's own scopes.
    /// </summary>
    internal static bool IsExpiryOf(Exception error, CancelScope? scope) => scope is not null && scope.IsExpiryOf(error);

    /// <summary>Opens a cancel scope for <paramref name="timeout"/>, or none for an infinite one.</summary>
    private static CancelScope? ScopeFor(TimeSpan timeout) => timeout == Timeout.InfiniteTimeSpan ? null : CancelScope.FailAfter(timeout);
}
