using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Evergreen.IO;
using Evergreen.Sync;
using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

/// <summary>What is TCP's own (connect, listen, servers, options, scale); what every IOStream does is in IOStreamConformanceTests.</summary>
public partial class TcpStreamTests
{
    private static readonly IPEndPoint AnyLoopbackPort = new(IPAddress.Loopback, 0);

    /// <summary>A listening server on 127.0.0.1 and an ephemeral port.</summary>
    internal static TcpServer Listen(IPEndPoint? at = null) => ConnectedPair.Listen(at);

    private static byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public void Echo_OverLoopback_LineByLine()
    {
        Run(async () =>
        {
            await using var server = Listen();
            var serving = Tasklet.Spawn(async () =>
            {
                await using var conn = await server.AcceptAsync();
                while (await conn.ReadLineAsync() is { } line) await conn.WriteAsync(Bytes(line.ToUpperInvariant() + "\n"));
            });
            await using var client = await TcpStream.ConnectAsync(server.LocalEndPoint!);
            Assert.Equal(server.LocalEndPoint, client.RemoteEndPoint);
            Assert.Equal(IPAddress.Loopback, ((IPEndPoint)client.LocalEndPoint!).Address);
            foreach (var word in new[] { "hello", "tasklet", "world" })
            {
                await client.WriteAsync(Bytes(word + "\n"));
                Assert.Equal(word.ToUpperInvariant(), await client.ReadLineAsync());
            }
            await client.ShutdownAsync();
            Assert.Null(await client.ReadLineAsync()); // the server saw the end and closed
            await serving;
        });
    }

    [Fact]
    public void ServeAsync_ATaskletPerConnection_ManyClientsAtOnce()
    {
        Run(async () =>
        {
            var server = Listen();
            var serving = Tasklet.Spawn(() => server.ServeAsync(async conn =>
            {
                while (await conn.ReadLineAsync() is { } line) await conn.WriteAsync(Bytes(line + "\n"));
            }));
            var clients = Enumerable.Range(0, 20).Select(i => Tasklet.Spawn(async () =>
            {
                await using var c = await TcpStream.ConnectAsync(server.LocalEndPoint!);
                for (int k = 0; k < 10; k++)
                {
                    await c.WriteAsync(Bytes($"client {i} line {k}\n"));
                    Assert.Equal($"client {i} line {k}", await c.ReadLineAsync());
                }
            })).ToList();
            foreach (var c in clients) await c;
            await server.CloseAsync(TimeSpan.FromSeconds(5));
            await serving;
            Assert.Empty(server.Connections);
        });
    }

    [Fact]
    public void CloseAsync_HandlerKilledAfterItsParkWasWokenOtherwise_StillEnds()
    {
        Run(async () =>
        {
            var server = Listen();
            var reading = new AsyncEvent();
            bool returned = false;
            var serving = Tasklet.Spawn(() => server.ServeAsync(async conn =>
            {
                reading.Set();
                try
                {
                    await conn.ReadAsync(new byte[16]);
                }
                catch (ObjectDisposedException)
                {
                    returned = true; // ends normally, with the kill still pending
                }
            }));
            await using var client = await TcpStream.ConnectAsync(server.LocalEndPoint!);
            await reading.WaitAsync();
            // Close wakes the read; the kill then comes before the handler runs again.
            Assert.Single(server.Connections).Close();
            await server.CloseAsync(TimeSpan.Zero);
            await serving;
            Assert.True(returned);
        });
    }

    [Fact]
    public void AHundredMegabytes_ThroughOneConnection_ByteExact()
    {
        Run(async () =>
        {
            const int Total = 100 * 1024 * 1024;
            await using var server = Listen();
            byte[] sentHash = [];
            var sender = Tasklet.Spawn(async () =>
            {
                await using var conn = await server.AcceptAsync();
                using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var rng = new Random(42);
                var chunk = new byte[256 * 1024];
                for (int sent = 0; sent < Total; sent += chunk.Length)
                {
                    rng.NextBytes(chunk);
                    sha.AppendData(chunk);
                    await conn.WriteAsync(chunk);
                }
                sentHash = sha.GetHashAndReset();
            });
            await using var client = await TcpStream.ConnectAsync(server.LocalEndPoint!);
            using var received = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[64 * 1024];
            long total = 0;
            int n;
            while ((n = await client.ReadAsync(buffer)) > 0)
            {
                received.AppendData(buffer, 0, n);
                total += n;
            }
            await sender;
            Assert.Equal(Total, total);
            Assert.Equal(sentHash, received.GetHashAndReset());
            // A fast reader never let the buffer run far past the high-water mark (64 KiB).
            Assert.True(client.BufferCapacity <= 256 * 1024, $"the read buffer grew to {client.BufferCapacity} bytes");
        });
    }

    [Fact]
    public void AThousandConcurrentConnections_EveryByteVerified()
    {
        Run(async () =>
        {
            var server = Listen();
            var serving = Tasklet.Spawn(() => server.ServeAsync(async conn =>
            {
                var buffer = new byte[4096];
                int n;
                while ((n = await conn.ReadAsync(buffer)) > 0) await conn.WriteAsync(buffer.AsMemory(0, n));
            }));
            int verified = 0;
            var clients = Enumerable.Range(0, 1000).Select(i => Tasklet.Spawn(async () =>
            {
                await using var c = await TcpStream.ConnectAsync(server.LocalEndPoint!);
                var message = new byte[100];
                for (int round = 0; round < 3; round++)
                {
                    for (int k = 0; k < message.Length; k++) message[k] = (byte)(i * 7 + round * 13 + k);
                    await c.WriteAsync(message);
                    var echo = new byte[message.Length];
                    await c.ReadExactlyAsync(echo);
                    Assert.Equal(message, echo);
                }
                verified++;
            })).ToList();
            foreach (var c in clients) await c;
            Assert.Equal(1000, verified);
            await server.CloseAsync(TimeSpan.FromSeconds(5));
            await serving;
        });
    }

    [Fact]
    public void Backpressure_APeerThatStopsReading_BoundsTheReadersBuffer_AndParksTheWriter()
    {
        Run(async () =>
        {
            await using var server = Listen();
            TcpConnection? idle = null;
            var accepting = Tasklet.Spawn(async () => { idle = await server.AcceptAsync(); });
            await using var writer = await TcpStream.ConnectAsync(server.LocalEndPoint!);
            await accepting;
            // The idle side starts reading once, then reads nothing more.
            idle!.ReadBufferHighWaterMark = 64 * 1024;
            var first = new byte[1];
            var firstRead = Tasklet.Spawn(async () => await idle.ReadAsync(first));
            long written = 0;
            bool writerParked = false;
            var writing = Tasklet.Spawn(async () =>
            {
                var chunk = new byte[64 * 1024];
                while (true)
                {
                    await writer.WriteAsync(chunk);
                    written += chunk.Length;
                }
            });
            // Wait until the writer is parked in a write the peer's full windows cannot take.
            for (int i = 0; i < 2000 && !writerParked; i++)
            {
                await Tasklet.Sleep(Ms(5));
                writerParked = writing.IsParked && writing.WaitingOn?.Contains("TcpStream") == true;
            }
            await firstRead;
            Assert.True(writerParked, $"the writer never parked; it wrote {written} bytes");
            long before = written;
            await Tasklet.Sleep(Ms(50));
            Assert.Equal(before, written); // nothing more goes out while nobody reads
            Assert.True(idle.Available <= idle.ReadBufferHighWaterMark + 64 * 1024,
                $"the idle reader buffered {idle.Available} bytes (high-water mark {idle.ReadBufferHighWaterMark})");
            writing.Kill();
            await writing.JoinAsync();
            await idle.DisposeAsync();
        });
    }

    [Fact]
    public void ConnectRefused_IsAUvException_NamingTheEndpoint()
    {
        Run(async () =>
        {
            var server = Listen();
            var endPoint = server.LocalEndPoint!;
            await server.DisposeAsync();
            var error = await Assert.ThrowsAsync<UvException>(async () => await TcpStream.ConnectAsync(endPoint));
            Assert.Equal("ECONNREFUSED", error.ErrorName);
            Assert.StartsWith($"ECONNREFUSED in connect to {endPoint}", error.Message);
        });
    }

    [Fact]
    public void AConnectNobodyAnswers_FailsWithETimedOut()
    {
        // A listener whose backlog is full drops new SYNs; with one SYN retry (TCP_SYNCNT, set
        // on the socket before it connects) the kernel gives up after about 3 s with ETIMEDOUT.
        if (!OperatingSystem.IsLinux()) return;
        Run(async () =>
        {
            using var listener = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            listener.Bind(AnyLoopbackPort);
            listener.Listen(0); // never accepts
            var target = (IPEndPoint)listener.LocalEndPoint!;
            var fillers = new List<TcpStream>();
            try
            {
                UvException? timedOut = null;
                TcpStream.BeforeConnect = fd => SetSynRetries(fd, 1);
                for (int i = 0; i < 8 && timedOut is null; i++)
                {
                    try
                    {
                        fillers.Add(await TcpStream.ConnectAsync(target)); // fills the backlog
                    }
                    catch (UvException e)
                    {
                        timedOut = e;
                    }
                }
                Assert.NotNull(timedOut);
                Assert.Equal("ETIMEDOUT", timedOut!.ErrorName);
                Assert.StartsWith($"ETIMEDOUT in connect to {target}", timedOut.Message);
            }
            finally
            {
                TcpStream.BeforeConnect = null;
                foreach (var f in fillers) await f.DisposeAsync();
            }
        });
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    private static unsafe partial int SetSockOpt(int fd, int level, int name, int* value, int length);

    private static unsafe void SetSynRetries(int fd, int retries)
    {
        const int IPPROTO_TCP = 6, TCP_SYNCNT = 7;
        Assert.Equal(0, SetSockOpt(fd, IPPROTO_TCP, TCP_SYNCNT, &retries, sizeof(int)));
    }

    [Fact]
    public void APeerThatResets_FailsThatStreamOnly_WithEConnReset()
    {
        Run(async () =>
        {
            await using var server = Listen();
            var conns = new List<TcpConnection>();
            var accepting = Tasklet.Spawn(async () =>
            {
                conns.Add(await server.AcceptAsync());
                conns.Add(await server.AcceptAsync());
            });
            await using var victim = await TcpStream.ConnectAsync(server.LocalEndPoint!);
            await using var bystander = await TcpStream.ConnectAsync(server.LocalEndPoint!);
            await accepting;
            var reading = Tasklet.Spawn(async () => await victim.ReadAsync(new byte[10]));
            await Tasklet.Sleep(Ms(5));
            conns[0].CloseWithReset();
            var error = await Assert.ThrowsAsync<UvException>(async () => await reading);
            Assert.Equal("ECONNRESET", error.ErrorName);
            await Assert.ThrowsAsync<UvException>(async () => await victim.ReadAsync(new byte[10])); // it stays failed
            // Writing to the reset connection fails too (EPIPE or ECONNRESET).
            var writeError = await Assert.ThrowsAsync<UvException>(async () =>
            {
                for (int i = 0; i < 100; i++) await victim.WriteAsync(new byte[1000]);
            });
            Assert.Contains(writeError.ErrorName, new[] { "EPIPE", "ECONNRESET" });
            await bystander.WriteAsync(Bytes("still fine\n"));
            Assert.Equal("still fine", await conns[1].ReadLineAsync());
            await conns[1].DisposeAsync();
        });
    }

    [Fact]
    public void AnAddressInUse_IsRefusedWhenListening()
    {
        Run(async () =>
        {
            await using var first = Listen();
            await using var second = new TcpServer();
            second.Bind(first.LocalEndPoint!);
            var error = Assert.Throws<UvException>(() => second.Listen());
            Assert.Equal("EADDRINUSE", error.ErrorName);
            Assert.Contains(first.LocalEndPoint!.ToString(), error.Message);
        });
    }

    [Fact]
    public void Localhost_Resolves_AndConnects()
    {
        Run(async () =>
        {
            await using var server = Listen();
            await using var client = await TcpStream.ConnectAsync("localhost", server.LocalEndPoint!.Port);
            Assert.Equal(IPAddress.Loopback, ((IPEndPoint)client.RemoteEndPoint!).Address);
        });
    }

    [Fact]
    public void IPv6Loopback_Works_WhenTheHostHasIPv6()
    {
        if (!System.Net.Sockets.Socket.OSSupportsIPv6)
        {
            Console.WriteLine("IPv6Loopback test skipped: this host has no IPv6.");
            return;
        }
        Run(async () =>
        {
            TcpServer server;
            try
            {
                server = Listen(new IPEndPoint(IPAddress.IPv6Loopback, 0));
            }
            catch (UvException e) when (e.ErrorName is "EADDRNOTAVAIL" or "EAFNOSUPPORT")
            {
                Console.WriteLine($"IPv6Loopback test skipped: ::1 is not usable here ({e.ErrorName}).");
                return;
            }
            await using var _ = server;
            var serving = Tasklet.Spawn(async () =>
            {
                await using var conn = await server.AcceptAsync();
                await conn.WriteAsync(Bytes("v6\n"));
            });
            await using var client = await TcpStream.ConnectAsync("::1", server.LocalEndPoint!.Port);
            Assert.Equal("v6", await client.ReadLineAsync());
            Assert.Equal(IPAddress.IPv6Loopback, ((IPEndPoint)client.RemoteEndPoint!).Address);
            await serving;
        });
    }

    [Fact]
    public void AConnectCutShort_ClosesItsSocket()
    {
        Run(async () =>
        {
            await using var server = Listen();
            using (CancelScope.FailAfter(TimeSpan.Zero))
            {
                await Assert.ThrowsAsync<TimeoutException>(async () => await TcpStream.ConnectAsync(server.LocalEndPoint!));
            }
            await Tasklet.Sleep(Ms(10)); // the cancelled connect's callback has come and gone
        });
    }

    [Fact]
    public void ServerClose_DrainsHandlers_ThenKillsTheRest()
    {
        Run(async () =>
        {
            var server = Listen();
            int politeDone = 0;
            bool stubbornKilled = false;
            var serving = Tasklet.Spawn(() => server.ServeAsync(async conn =>
            {
                string? kind = await conn.ReadLineAsync();
                if (kind == "polite")
                {
                    await Tasklet.Sleep(Ms(20));
                    politeDone++;
                    return;
                }
                try { await Tasklet.Sleep(TimeSpan.FromMinutes(10)); }
                catch (TaskletExit) { stubbornKilled = true; throw; }
            }));
            var polite = await TcpStream.ConnectAsync(server.LocalEndPoint!);
            var stubborn = await TcpStream.ConnectAsync(server.LocalEndPoint!);
            await polite.WriteAsync(Bytes("polite\n"));
            await stubborn.WriteAsync(Bytes("stubborn\n"));
            await Tasklet.Sleep(Ms(5));
            Assert.Equal(2, server.Connections.Count);
            await server.CloseAsync(Ms(200));
            await serving;
            Assert.Equal(1, politeDone);
            Assert.True(stubbornKilled);
            Assert.Empty(server.Connections);
            Assert.Equal(0, await polite.ReadAsync(new byte[1])); // their connections were closed
            Assert.Equal(0, await stubborn.ReadAsync(new byte[1]));
            await Assert.ThrowsAsync<UvException>(async () => await TcpStream.ConnectAsync(server.LocalEndPoint!));
            await polite.DisposeAsync();
            await stubborn.DisposeAsync();
        });
    }

    [Fact]
    public void AHandlerThatThrows_IsReported_AndOnlyItsConnectionCloses()
    {
        var reports = new List<LoopExceptionEventArgs>();
        Run(async () =>
        {
            var server = Listen();
            var serving = Tasklet.Spawn(() => server.ServeAsync(async conn =>
            {
                string? line = await conn.ReadLineAsync();
                if (line == "crash") throw new InvalidDataException("bad request");
                await conn.WriteAsync(Bytes("ok\n"));
                await conn.ReadLineAsync();
            }));
            await using var bad = await TcpStream.ConnectAsync(server.LocalEndPoint!);
            await using var good = await TcpStream.ConnectAsync(server.LocalEndPoint!);
            await bad.WriteAsync(Bytes("crash\n"));
            Assert.Equal(0, await bad.ReadAsync(new byte[1]));
            await good.WriteAsync(Bytes("hello\n"));
            Assert.Equal("ok", await good.ReadLineAsync());
            await good.ShutdownAsync();
            await server.CloseAsync(TimeSpan.FromSeconds(5));
            await serving;
        }, reports);
        var report = Assert.Single(reports);
        Assert.IsType<InvalidDataException>(report.Exception);
        Assert.Contains("connection from 127.0.0.1", report.Source);
    }

    [Fact]
    public void ReadsAndWrites_AllocateNothingInSteadyState()
    {
        // Measured inline: a helper async method would allocate its own state machine.
        Run(async () =>
        {
            await using var server = Listen();
            var echo = Tasklet.Spawn(async () =>
            {
                await using var conn = await server.AcceptAsync();
                var buffer = new byte[256];
                int n;
                while ((n = await conn.ReadAsync(buffer)) > 0) await conn.WriteAsync(buffer.AsMemory(0, n));
            });
            await using var client = await TcpStream.ConnectAsync(server.LocalEndPoint!);
            var message = new byte[64];
            var reply = new byte[64];
            const int Rounds = 2000;
            long allocated = long.MaxValue;
            for (int pass = 0; pass < 4; pass++) // the first pass warms up; keep the least of the others
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                for (int i = 0; i < Rounds; i++)
                {
                    message[0] = (byte)i;
                    await client.WriteAsync(message);
                    int got = 0;
                    while (got < reply.Length) got += await client.ReadAsync(reply.AsMemory(got));
                    if (reply[0] != (byte)i) throw new InvalidOperationException("wrong echo");
                }
                if (pass > 0) allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - before);
            }
            Assert.True(allocated < Rounds, $"{allocated} B for {Rounds} round trips (both ends' reads and writes)");
            await client.ShutdownAsync();
            await echo;
        });
    }

    [Fact]
    public void Options_NoDelayKeepAliveAndBufferSizes()
    {
        Run(async () =>
        {
            await using var pair = await ConnectedPair.OpenAsync();
            var client = pair.Client;
            Assert.True(client.NoDelay);
            client.NoDelay = false;
            Assert.False(client.NoDelay);
            client.SetKeepAlive(true, TimeSpan.FromSeconds(30));
            client.SetKeepAlive(false);
            client.SendBufferSize = 64 * 1024;
            Assert.True(client.SendBufferSize >= 64 * 1024);
            client.ReceiveBufferSize = 32 * 1024;
            Assert.True(client.ReceiveBufferSize >= 32 * 1024);
            Assert.Throws<ArgumentOutOfRangeException>(() => client.SetKeepAlive(true, TimeSpan.Zero));
        });
    }
}
