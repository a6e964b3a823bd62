using Evergreen.Native;

namespace Evergreen;

/// <summary>
/// A libuv error, carrying libuv's error name, the operation and its target:
/// <c>ECONNREFUSED in connect to 127.0.0.1:9 (connection refused)</c>.
/// </summary>
public class UvException : IOException
{
    /// <summary>
    /// Creates the exception for libuv error code <paramref name="errorCode"/> (negative). The word
    /// joining operation and target fits the operation: "connect to", "read from", "listen on",
    /// "accept on", "getaddrinfo for".
    /// </summary>
    public UvException(int errorCode, string operation, string? target = null)
        : this(errorCode, operation, target, PrepositionFor(operation))
    {
    }

    /// <summary>As the other constructor, with the word that joins operation and target ("read from 127.0.0.1:80").</summary>
    public UvException(int errorCode, string operation, string? target, string preposition)
        : base(Describe(errorCode, operation, target, preposition))
    {
        ErrorCode = errorCode;
        ErrorName = LibUv.ErrorName(errorCode);
        Operation = operation;
        Target = target;
        HResult = errorCode;
    }

    /// <summary>Throws a <see cref="UvException"/> when <paramref name="rc"/>, a libuv call's return code, is an error (negative).</summary>
    /// <exception cref="UvException"><paramref name="rc"/> is negative.</exception>
    public static void ThrowIfError(int rc, string operation, string? target = null)
    {
        if (rc < 0) throw new UvException(rc, operation, target);
    }

    /// <summary>libuv's (negative) error code.</summary>
    public int ErrorCode { get; }

    /// <summary>libuv's name for the error, such as <c>ECONNREFUSED</c>.</summary>
    public string ErrorName { get; }

    /// <summary>What was being done, such as <c>connect</c> or <c>uv_timer_start</c>.</summary>
    public string Operation { get; }

    /// <summary>What it was done to (an endpoint, a path), or null.</summary>
    public string? Target { get; }

    /// <summary>The word that joins <paramref name="operation"/> to its target, from the operation's first word.</summary>
    internal static string PrepositionFor(string operation)
    {
        var verb = operation.AsSpan();
        int space = verb.IndexOfAny(' ', '(');
        if (space >= 0) verb = verb[..space];
        return verb switch
        {
            "read" or "receive" or "recv" => "from",
            "listen" or "accept" or "uv_udp_recv_start" or "uv_read_start" => "on",
            "getaddrinfo" or "getnameinfo" or "resolve" or "uv_signal_start" => "for",
            "multicast" => "of group",
            "shutdown" => "of the connection to",
            _ => "to", // connect, bind, write, send, set ... to
        };
    }

    private static string Describe(int errorCode, string operation, string? target, string preposition) =>
        $"{LibUv.ErrorName(errorCode)} in {operation}{(target is null ? "" : $" {preposition} {target}")} ({LibUv.ErrorMessage(errorCode)})";
}
