// TlsStream: TLS over any IOStream, through .NET's SslStream.
//
// SslStream does the protocol; it reads and writes the inner stream through AsStream(), whose
// async members are the inner stream's parks, so a TLS handshake, read or write parks the
// tasklet like any Evergreen wait (SslStream's own code runs on the loop, in the tasklet). The
// decrypted bytes go into this stream's buffer (FillAsync reads the SslStream into its free
// tail), so every IOStream read helper works over TLS too. SslStream allows one write at a time,
// so writes take turns here.
//
// A server's handshake runs under a deadline (60 s by default, nginx's ssl_handshake_timeout):
// a client that opens a connection and never finishes its hello would otherwise hold the
// connection, its tasklet and the SslStream for as long as it likes. A client's handshake has no
// deadline of its own; HttpSession's ConnectTimeout covers it, and a caller's CancelScope does.
//
// Certificate validation is SslStream's default (chain and host name) unless the caller passes
// options that change it: a client meets a self-signed server by trusting its certificate
// (CertificateChainPolicy with a custom trust store), not by turning validation off.

using System.Net;
using System.Net.Security;
using System.Runtime.ExceptionServices;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Evergreen.IO;

/// <summary>
/// A TLS connection over an <see cref="IOStream"/> (normally a <see cref="TcpStream"/>), with
/// every IOStream read helper:
/// <code>
/// await using var tls = await TlsStream.ConnectAsync("example.com", 443);
/// await tls.WriteAsync("GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n"u8.ToArray());
/// string? status = await tls.ReadLineAsync();
/// </code>
/// The server's certificate is validated by default (chain and host name). Loop thread only.
/// </summary>
public sealed class TlsStream : IOStream
{
    private readonly IOStream _inner;
    private readonly SslStream _ssl;
    private bool _writing;
    private WaitQueue? _writeTurn;
    private bool _shutdown;

    private TlsStream(IOStream inner, SslStream ssl) : base(inner.Loop)
    {
        _inner = inner;
        _ssl = ssl;
    }

    /// <summary>
    /// Connects to <paramref name="host"/>:<paramref name="port"/> over TCP and runs the TLS client
    /// handshake, validating the server's certificate for <paramref name="host"/> (or for
    /// <paramref name="options"/>' TargetHost). The TCP connection is closed if the handshake fails.
    /// </summary>
    /// <exception cref="AuthenticationException">The handshake failed, or the certificate is not valid for the host.</exception>
    /// <exception cref="UvException">The TCP connection failed.</exception>
    public static async ValueTask<TlsStream> ConnectAsync(string host, int port, SslClientAuthenticationOptions? options = null)
    {
        var tcp = await TcpStream.ConnectAsync(host, port);
        try
        {
            return await AuthenticateAsClientAsync(tcp, host, options);
        }
        catch
        {
            await tcp.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Runs the TLS client handshake over <paramref name="inner"/>; the TlsStream then owns it
    /// (closing one closes both). <paramref name="options"/> may set protocols, ALPN, client
    /// certificates and validation; its TargetHost defaults to <paramref name="targetHost"/>.
    /// </summary>
    /// <exception cref="AuthenticationException">The handshake failed, or the certificate is not valid.</exception>
    public static async ValueTask<TlsStream> AuthenticateAsClientAsync(IOStream inner, string targetHost, SslClientAuthenticationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentException.ThrowIfNullOrEmpty(targetHost);
        // The caller's options object is not changed: it may be shared by several connections.
        var effective = options?.TargetHost is null ? CopyOptions(options, targetHost) : options;
        return await HandshakeAsync(inner, ssl => ssl.AuthenticateAsClientAsync(effective));
    }

    /// <summary>A copy of <paramref name="options"/> (or defaults) whose TargetHost is <paramref name="targetHost"/>.</summary>
    internal static SslClientAuthenticationOptions CopyOptions(SslClientAuthenticationOptions? options, string targetHost)
    {
        var copy = new SslClientAuthenticationOptions { TargetHost = targetHost };
        if (options is not { } o) return copy;
        copy.AllowRenegotiation = o.AllowRenegotiation;
        copy.AllowTlsResume = o.AllowTlsResume;
        if (OperatingSystem.IsLinux() || OperatingSystem.IsWindows())
        {
            copy.AllowRsaPssPadding = o.AllowRsaPssPadding;
            copy.AllowRsaPkcs1Padding = o.AllowRsaPkcs1Padding;
        }
        copy.ApplicationProtocols = o.ApplicationProtocols;
        copy.CertificateChainPolicy = o.CertificateChainPolicy;
        copy.CertificateRevocationCheckMode = o.CertificateRevocationCheckMode;
        copy.CipherSuitesPolicy = o.CipherSuitesPolicy;
        copy.ClientCertificateContext = o.ClientCertificateContext;
        copy.ClientCertificates = o.ClientCertificates;
        copy.EnabledSslProtocols = o.EnabledSslProtocols;
        copy.EncryptionPolicy = o.EncryptionPolicy;
        copy.LocalCertificateSelectionCallback = o.LocalCertificateSelectionCallback;
        copy.RemoteCertificateValidationCallback = o.RemoteCertificateValidationCallback;
        return copy;
    }

    /// <summary>Runs a handshake on a new SslStream over <paramref name="inner"/>; the SslStream is disposed if it fails.</summary>
    private static async ValueTask<TlsStream> HandshakeAsync(IOStream inner, Func<SslStream, Task> handshake)
    {
        var ssl = new SslStream(inner.AsStream(), leaveInnerStreamOpen: true);
        try
        {
            await handshake(ssl);
        }
        catch
        {
            await ssl.DisposeAsync();
            throw;
        }
        return new TlsStream(inner, ssl);
    }

    /// <summary>How long a server handshake may take unless told otherwise: 60 s, as nginx's <c>ssl_handshake_timeout</c>.</summary>
    public static readonly TimeSpan DefaultHandshakeTimeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Runs the TLS server handshake over <paramref name="inner"/> with <paramref name="certificate"/>
    /// (which has its private key), within <paramref name="handshakeTimeout"/>
    /// (<see cref="DefaultHandshakeTimeout"/> if null; <see cref="Timeout.InfiniteTimeSpan"/>: none).
    /// A yield point; a handshake that fails or times out leaves <paramref name="inner"/> open, for
    /// the caller to close.
    /// </summary>
    /// <exception cref="AuthenticationException">The handshake failed.</exception>
    /// <exception cref="TimeoutException">The client did not finish the handshake in time.</exception>
    public static ValueTask<TlsStream> AuthenticateAsServerAsync(IOStream inner, X509Certificate2 certificate, TimeSpan? handshakeTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        // Offline: no OCSP fetch or chain download on the thread pool during handshakes.
        var context = SslStreamCertificateContext.Create(certificate, additionalCertificates: null, offline: true);
        return AuthenticateAsServerAsync(inner, new SslServerAuthenticationOptions { ServerCertificateContext = context }, handshakeTimeout);
    }

    /// <summary>
    /// Runs the TLS server handshake over <paramref name="inner"/> with <paramref name="options"/>,
    /// within <paramref name="handshakeTimeout"/> (<see cref="DefaultHandshakeTimeout"/> if null;
    /// <see cref="Timeout.InfiniteTimeSpan"/>: none); the TlsStream then owns <paramref name="inner"/>.
    /// A yield point; a handshake that fails or times out leaves <paramref name="inner"/> open.
    /// </summary>
    /// <exception cref="AuthenticationException">The handshake failed.</exception>
    /// <exception cref="TimeoutException">The client did not finish the handshake in time.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="handshakeTimeout"/> is negative (and not infinite).</exception>
    public static async ValueTask<TlsStream> AuthenticateAsServerAsync(IOStream inner, SslServerAuthenticationOptions options, TimeSpan? handshakeTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(options);
        var timeout = handshakeTimeout ?? DefaultHandshakeTimeout;
        if (timeout == Timeout.InfiniteTimeSpan) return await HandshakeAsync(inner, ssl => ssl.AuthenticateAsServerAsync(options));
        Timeouts.Check(timeout, nameof(handshakeTimeout));
        using var scope = CancelScope.FailAfter(timeout);
        try
        {
            return await HandshakeAsync(inner, ssl => ssl.AuthenticateAsServerAsync(options));
        }
        catch (Exception e) when (IsExpiryOf(e, scope))
        {
            throw new TimeoutException($"the TLS handshake with {inner.RemoteEndPoint?.ToString() ?? "the client"} did not finish within {Timeouts.Describe(timeout)}", e);
        }
    }

    /// <summary>Whether <paramref name="error"/> (or an exception inside it: SslStream wraps) is <paramref name="scope"/>'s timeout.</summary>
    private static bool IsExpiryOf(Exception error, CancelScope scope) =>
        scope.IsExpiryOf(error) || (scope.IsExpired && error is IOException or AuthenticationException or ObjectDisposedException);

    /// <summary>The stream TLS runs over.</summary>
    public IOStream InnerStream => _inner;

    /// <summary>The negotiated protocol (TLS 1.2, 1.3).</summary>
    public SslProtocols Protocol => _ssl.SslProtocol;

    /// <summary>The ALPN protocol agreed on (empty if none).</summary>
    public SslApplicationProtocol ApplicationProtocol => _ssl.NegotiatedApplicationProtocol;

    /// <summary>The peer's certificate, if it sent one.</summary>
    public X509Certificate? RemoteCertificate => _ssl.RemoteCertificate;

    /// <inheritdoc/>
    public override EndPoint? LocalEndPoint => _inner.LocalEndPoint;

    /// <inheritdoc/>
    public override EndPoint? RemoteEndPoint => _inner.RemoteEndPoint;

    private protected override async ValueTask FillAsync()
    {
        int free = EnsureSpace(4096);
        try
        {
            int n = await _ssl.ReadAsync(_buffer.AsMemory(_end, free));
            if (n == 0) _eof = true;
            else _end += n;
        }
        catch (IOException e) when (e.InnerException is TaskletExit or ObjectDisposedException or TimeoutException)
        {
            // SslStream wraps whatever its inner stream's read threw: a kill, a closed stream, an
            // expired CancelScope (the TCP read takes no timeout of its own) ended the park under
            // it. Those are not I/O errors: the waiter gets them as every other stream's does.
            ExceptionDispatchInfo.Throw(e.InnerException!);
        }
        catch (Exception e) when (e is IOException or AuthenticationException && !_closed)
        {
            _readError = e;
        }
    }

    /// <inheritdoc/>
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> data)
    {
        CheckReadable("WriteAsync");
        if (_shutdown) throw new InvalidOperationException($"WriteAsync: the write side of {this} was shut down; it takes no more bytes.");
        if (data.IsEmpty) return;
        var turn = _writeTurn ??= new WaitQueue(this);
        while (_writing) await turn.ParkAsync();
        _writing = true;
        try
        {
            await _ssl.WriteAsync(data);
        }
        finally
        {
            _writing = false;
            turn.UnparkOne();
        }
    }

    /// <summary>Sends TLS close_notify, then ends the inner stream's write side.</summary>
    public override async ValueTask ShutdownAsync()
    {
        CheckReadable("ShutdownAsync");
        if (_shutdown) return;
        var turn = _writeTurn ??= new WaitQueue(this);
        while (_writing) await turn.ParkAsync();
        _shutdown = true;
        await _ssl.ShutdownAsync();
        await _inner.ShutdownAsync();
    }

    /// <inheritdoc/>
    public override void Close()
    {
        if (_closed) return;
        _closed = true;
        _ssl.Dispose();
        _inner.Close();
        ReleaseBuffer();
    }

    /// <inheritdoc/>
    public override async ValueTask DisposeAsync()
    {
        Close();
        await _inner.DisposeAsync();
    }
}
