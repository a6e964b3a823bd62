namespace Evergreen.Native;

/// <summary>
/// The few libuv error codes Evergreen.IO tests for. libuv's <c>UV_E*</c> codes are the
/// platform's negated errno values, so they differ between Linux and macOS; the <c>UV_EAI_*</c>
/// codes (getaddrinfo's) are libuv's own and the same everywhere.
/// </summary>
internal static class UvErrors
{
    private static readonly bool s_linux = OperatingSystem.IsLinux();

    /// <summary><c>UV_EAGAIN</c>: the kernel cannot take it now (a full socket buffer).</summary>
    internal static readonly int EAGAIN = s_linux ? -11 : -35;

    /// <summary><c>UV_ENOBUFS</c>: no buffer space; for a send, like <see cref="EAGAIN"/>.</summary>
    internal static readonly int ENOBUFS = s_linux ? -105 : -55;

    /// <summary><c>UV_EMSGSIZE</c>: a datagram too large for the socket.</summary>
    internal static readonly int EMSGSIZE = s_linux ? -90 : -40;

    /// <summary><c>UV_ECANCELED</c>: a request cancelled (a send still queued when its handle closed).</summary>
    internal static readonly int ECANCELED = s_linux ? -125 : -89;

    /// <summary><c>UV_EAI_CANCELED</c>: a getaddrinfo or getnameinfo request cancelled with <c>uv_cancel</c>.</summary>
    internal const int EAI_CANCELED = -3003;

    /// <summary><c>UV_EAI_NONAME</c>: the name is not known.</summary>
    internal const int EAI_NONAME = -3008;

    /// <summary><c>UV_EAI_AGAIN</c>: a temporary failure (no DNS server answered).</summary>
    internal const int EAI_AGAIN = -3001;
}
