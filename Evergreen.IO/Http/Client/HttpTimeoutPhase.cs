namespace Evergreen.IO.Http;

/// <summary>Which of <see cref="HttpSession"/>'s timeouts expired (<see cref="HttpTimeoutException.Phase"/>).</summary>
public enum HttpTimeoutPhase
{
    /// <summary><see cref="HttpSessionOptions.ConnectTimeout"/>: resolving, connecting or the TLS handshake took too long.</summary>
    Connect,

    /// <summary><see cref="HttpSessionOptions.FirstByteTimeout"/>: the request was sent and the response head did not come in time.</summary>
    FirstByte,

    /// <summary><see cref="HttpSessionOptions.TotalTimeout"/>: the whole call (redirects, and a buffered body) took too long.</summary>
    Total,
}
