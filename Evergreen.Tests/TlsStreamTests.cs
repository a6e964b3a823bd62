using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Evergreen.IO;
using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

public class TlsStreamTests
{
    /// <summary>The test certificate (TestCertificate.cs, shared with RawHttpServer).</summary>
    internal static Lazy<X509Certificate2> s_certificate => TestCertificate.Lazy;

    /// <summary>Client options that trust the test certificate.</summary>
    internal static SslClientAuthenticationOptions Trusting(string? targetHost = null) => TestCertificate.Trusting(targetHost);

    private static Tasklet ServeTls(TcpServer server, Func<TlsStream, Task> handler) => Tasklet.Spawn(async () =>
    {
        await using var conn = await server.AcceptAsync();
        await using var tls = await TlsStream.AuthenticateAsServerAsync(conn, s_certificate.Value);
        await handler(tls);
    });

    /// <summary>The server side of a handshake the client refuses.</summary>
    private static Tasklet ServeOneRefusedHandshake(TcpServer server) => Tasklet.Spawn(async () =>
    {
        // With TLS 1.3 the server may finish its handshake before the client refuses the
        // certificate; either way the connection ends with nothing read.
        await using var conn = await server.AcceptAsync();
        try
        {
            await using var tls = await TlsStream.AuthenticateAsServerAsync(conn, s_certificate.Value);
            Assert.Null(await tls.ReadLineAsync());
        }
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
        }
    });

    [Fact]
    public void RoundTrip_ClientAndServer_WithTheReadHelpers()
    {
        Run(async () =>
        {
            await using var server = TcpStreamTests.Listen();
            var serving = ServeTls(server, async tls =>
            {
                while (await tls.ReadLineAsync(400_000) is { } line) await tls.WriteAsync(Encoding.UTF8.GetBytes($"echo: {line}\n"));
            });
            await using var client = await TlsStream.ConnectAsync("localhost", server.LocalEndPoint!.Port, Trusting());
            Assert.True(client.Protocol is SslProtocols.Tls12 or SslProtocols.Tls13);
            Assert.Equal(server.LocalEndPoint, client.RemoteEndPoint);
            for (int i = 0; i < 5; i++)
            {
                await client.WriteAsync(Encoding.UTF8.GetBytes($"message {i}\n"));
                Assert.Equal($"echo: message {i}", await client.ReadLineAsync());
            }
            var rng = new Random(1);
            var big = new byte[300_000]; // one long ASCII line (the server decodes it as UTF-8 and back)
            for (int i = 0; i < big.Length; i++) big[i] = (byte)rng.Next('a', 'z' + 1);
            await client.WriteAsync(big);
            await client.WriteAsync("\n"u8.ToArray());
            var echoed = await client.ReadUntilAsync("\n"u8.ToArray(), 400_000);
            Assert.Equal("echo: "u8.ToArray().Concat(big).Append((byte)'\n'), echoed);
            await client.ShutdownAsync();
            Assert.Null(await client.ReadLineAsync());
            await serving;
        });
    }

    [Fact]
    public void ConnectAsync_SharedOptions_AreNotChanged_SoTheyServeSeveralHosts()
    {
        Run(async () =>
        {
            await using var server = TcpStreamTests.Listen();
            var serving = ServeTls(server, async tls => await tls.ReadLineAsync());
            var shared = Trusting();
            await using (var client = await TlsStream.ConnectAsync("localhost", server.LocalEndPoint!.Port, shared))
            {
                await client.WriteAsync("bye\n"u8.ToArray());
            }
            await serving;
            Assert.Null(shared.TargetHost); // not set to "localhost" behind the caller's back
        });
    }

    [Fact]
    public void AHostNameMismatch_FailsTheHandshake_AndClosesTheConnection()
    {
        Run(async () =>
        {
            await using var server = TcpStreamTests.Listen();
            var serving = ServeOneRefusedHandshake(server);
            var error = await Assert.ThrowsAsync<AuthenticationException>(async () =>
                await TlsStream.ConnectAsync("127.0.0.1", server.LocalEndPoint!.Port, Trusting("wrong.example")));
            Assert.Contains("RemoteCertificateNameMismatch", error.Message);
            await serving;
        });
    }

    [Fact]
    public void AnUntrustedCertificate_IsRefusedByDefault()
    {
        Run(async () =>
        {
            await using var server = TcpStreamTests.Listen();
            var serving = ServeOneRefusedHandshake(server);
            var error = await Assert.ThrowsAsync<AuthenticationException>(async () =>
                await TlsStream.ConnectAsync("localhost", server.LocalEndPoint!.Port));
            Assert.Contains("remote certificate is invalid", error.Message);
            await serving;
        });
    }

    [Fact]
    public void SslStream_OverAsStream_Works_ForCallersWhoWantTheirOwn()
    {
        Run(async () =>
        {
            await using var server = TcpStreamTests.Listen();
            var serving = Tasklet.Spawn(async () =>
            {
                await using var conn = await server.AcceptAsync();
                await using var ssl = new SslStream(conn.AsStream(), leaveInnerStreamOpen: true);
                await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = s_certificate.Value });
                var buffer = new byte[5];
                int got = 0;
                while (got < 5) got += await ssl.ReadAsync(buffer.AsMemory(got));
                await ssl.WriteAsync(buffer);
            });
            await using var tcp = await TcpStream.ConnectAsync(server.LocalEndPoint!);
            await using var client = new SslStream(tcp.AsStream(), leaveInnerStreamOpen: true);
            await client.AuthenticateAsClientAsync(Trusting("localhost"));
            await client.WriteAsync("hello"u8.ToArray());
            var reply = new byte[5];
            int n = 0;
            while (n < 5) n += await client.ReadAsync(reply.AsMemory(n));
            Assert.Equal("hello", Encoding.ASCII.GetString(reply));
            await serving;
        });
    }

    [Fact]
    public void ServerHandshake_WithAClientThatSendsNothing_TimesOut_AndLeavesTheConnectionToTheCaller()
    {
        Run(async () =>
        {
            Assert.Equal(TimeSpan.FromSeconds(60), TlsStream.DefaultHandshakeTimeout);
            await using var server = TcpStreamTests.Listen();
            var serving = Tasklet.Spawn(async () =>
            {
                await using var conn = await server.AcceptAsync();
                var error = await Assert.ThrowsAsync<TimeoutException>(async () => await TlsStream.AuthenticateAsServerAsync(conn, s_certificate.Value, Ms(100)));
                Assert.Contains("TLS handshake", error.Message);
                Assert.False(conn.IsClosed);
            });
            await using var client = await TcpStream.ConnectAsync(server.LocalEndPoint!);
            await serving;
            Assert.Equal(0, await client.ReadAsync(new byte[16])); // the caller closed it
        });
    }
}
