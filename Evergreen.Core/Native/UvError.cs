namespace Evergreen.Native;

/// <summary>
/// The libuv error codes Evergreen tests for. On Unix libuv's codes are negated errno values, so
/// they differ between Linux and the BSDs/macOS; <c>UV_EOF</c> and the <c>EAI</c> ones are
/// libuv's own and fixed.
/// </summary>
internal static class UvError
{
    private static readonly bool s_linux = OperatingSystem.IsLinux();

    internal const int EOF = -4095;
    internal static readonly int EAGAIN = s_linux ? -11 : -35;
    internal static readonly int ECANCELED = s_linux ? -125 : -89;
    internal static readonly int ENOBUFS = s_linux ? -105 : -55;
    internal static readonly int EMFILE = -24;
    internal static readonly int ENFILE = -23;
    internal static readonly int EMSGSIZE = s_linux ? -90 : -40;

    /// <summary><c>UV_EAI_CANCELED</c>: a getaddrinfo or getnameinfo request cancelled with <c>uv_cancel</c>.</summary>
    internal const int EAI_CANCELED = -3003;

    /// <summary><c>UV_EAI_NONAME</c>: the name is not known.</summary>
    internal const int EAI_NONAME = -3008;

    /// <summary><c>UV_EAI_AGAIN</c>: a temporary failure (no DNS server answered).</summary>
    internal const int EAI_AGAIN = -3001;
}
