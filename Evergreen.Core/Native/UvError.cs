namespace Evergreen.Native;

/// <summary>
/// The libuv error codes Evergreen tests for. On Unix libuv's codes are negated errno values, so
/// they differ between Linux and the BSDs/macOS; <c>UV_EOF</c> and the <c>EAI</c> ones are
/// libuv's own and fixed.
/// </summary>
public static class UvError
{
    private static readonly bool s_linux = OperatingSystem.IsLinux();

    /// <summary><c>UV_EOF</c>: the end of a stream.</summary>
    public const int EOF = -4095;

    /// <summary><c>UV_EAGAIN</c>: not now (a full kernel buffer).</summary>
    public static readonly int EAGAIN = s_linux ? -11 : -35;

    /// <summary><c>UV_ECANCELED</c>: a request cancelled, by <c>uv_cancel</c> or by closing its handle.</summary>
    public static readonly int ECANCELED = s_linux ? -125 : -89;

    /// <summary><c>UV_ENOBUFS</c>: no buffer space.</summary>
    public static readonly int ENOBUFS = s_linux ? -105 : -55;

    /// <summary><c>UV_EMFILE</c>: the process is out of file descriptors.</summary>
    public static readonly int EMFILE = -24;

    /// <summary><c>UV_ENFILE</c>: the system is out of file descriptors.</summary>
    public static readonly int ENFILE = -23;

    /// <summary><c>UV_EMSGSIZE</c>: a datagram too large.</summary>
    public static readonly int EMSGSIZE = s_linux ? -90 : -40;

    /// <summary><c>UV_EAI_CANCELED</c>: a getaddrinfo or getnameinfo request cancelled with <c>uv_cancel</c>.</summary>
    public const int EAI_CANCELED = -3003;

    /// <summary><c>UV_EAI_NONAME</c>: the name is not known.</summary>
    public const int EAI_NONAME = -3008;

    /// <summary><c>UV_EAI_AGAIN</c>: a temporary failure (no DNS server answered).</summary>
    public const int EAI_AGAIN = -3001;
}
