namespace Evergreen.IO.Http;

public sealed partial class HttpSession
{
    /// <summary>The redirects of one call so far: the chain, and every request made (for loops).</summary>
    private sealed class RedirectState(string method, Uri url)
    {
        public readonly List<Uri> Chain = new(4);
        public readonly List<(string Method, Uri Url)> Requests = new(4) { (method, url) };

        public string Describe(Uri? next = null)
        {
            var parts = new List<string>(Chain.Count + 1);
            foreach (var u in Chain) parts.Add(u.AbsoluteUri);
            if (next is not null) parts.Add(next.AbsoluteUri);
            return string.Join(" -> ", parts);
        }
    }

    /// <summary>301, 302, 303, 307 and 308: the statuses followed (300 and 305 are not).</summary>
    private static bool IsRedirect(int status) => status is 301 or 302 or 303 or 307 or 308;

    /// <summary>
    /// Works out the request a redirect asks for (RFC 9110 §15.4): the Location resolved against
    /// the current URL; 303 turns the method into GET without a body (HEAD stays HEAD), and so do
    /// 301 and 302 after a POST, as browsers do; 307 and 308 keep the method and the body. Leaving
    /// the origin drops the Authorization and Cookie header fields. Throws for a loop, one redirect
    /// too many, or a Location that is not an http(s) URL.
    /// </summary>
    private Uri NextRequest(RedirectState state, HttpSessionResponse response, string location,
        ref string method, ref ReadOnlyMemory<byte> body, ref string? contentType, ref HttpFields? headers)
    {
        var current = response.Url;
        state.Chain.Add(current);
        if (!Uri.TryCreate(current, location.Trim(), out var next) || (next.Scheme != Uri.UriSchemeHttp && next.Scheme != Uri.UriSchemeHttps))
        {
            throw new HttpRedirectException(state.Chain.ToArray(), isLoop: false,
                $"{method} {current.AbsoluteUri}: the {response.StatusCode} redirect's Location \"{location}\" is not an http or https URL");
        }
        int status = response.StatusCode;
        string nextMethod = method;
        bool dropBody = false;
        if ((status == 303 && method != "HEAD") || (status is 301 or 302 && method == "POST"))
        {
            nextMethod = "GET";
            dropBody = true;
        }
        foreach (var (m, u) in state.Requests)
        {
            if (m == nextMethod && u.Equals(next))
            {
                throw new HttpRedirectException(state.Chain.ToArray(), isLoop: true,
                    $"{state.Requests[0].Method} {state.Requests[0].Url.AbsoluteUri}: redirect loop: {state.Describe(next)}");
            }
        }
        if (state.Chain.Count > Options.MaxRedirects)
        {
            throw new HttpRedirectException(state.Chain.ToArray(), isLoop: false,
                $"{state.Requests[0].Method} {state.Requests[0].Url.AbsoluteUri}: more than {Options.MaxRedirects} redirects (MaxRedirects): {state.Describe(next)}");
        }
        state.Requests.Add((nextMethod, next));
        method = nextMethod;
        if (dropBody)
        {
            body = default;
            contentType = null;
        }
        if (headers is not null && HttpOrigin.Of(next) != HttpOrigin.Of(current) && (headers.Contains("Authorization") || headers.Contains("Cookie")))
        {
            var kept = new HttpFields();
            foreach (var (name, value) in headers)
            {
                if (!name.Equals("Authorization", StringComparison.OrdinalIgnoreCase) && !name.Equals("Cookie", StringComparison.OrdinalIgnoreCase)) kept.Add(name, value);
            }
            headers = kept;
        }
        return next;
    }
}
