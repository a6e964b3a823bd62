using System.Text;
using System.Text.RegularExpressions;
using Evergreen.IO;
using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

/// <summary>Two connected <see cref="IOStream"/>s of one kind; disposing it closes both and whatever carries them.</summary>
public sealed class StreamPair(IOStream client, IOStream server, Func<ValueTask> dispose) : IAsyncDisposable
{
    /// <summary>The end that connected.</summary>
    public IOStream Client { get; } = client;

    /// <summary>The end that accepted.</summary>
    public IOStream Server { get; } = server;

    public ValueTask DisposeAsync() => dispose();
}

/// <summary>
/// What every <see cref="IOStream"/> must do, written once (trio's check_two_way_stream,
/// Channels' ChannelTestBase): each stream type derives and says how to open a connected pair.
/// The type's own file keeps only what is specific to it (connect errors, options, handshakes).
/// </summary>
public abstract class IOStreamConformanceTests
{
    /// <summary>Opens a connected pair (in a tasklet); both ends are ready to read and write.</summary>
    protected abstract Task<StreamPair> OpenPairAsync();

    private static byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public void Echo_LineByLine_UntilTheClientShutsDown()
    {
        Run(async () =>
        {
            await using var pair = await OpenPairAsync();
            var serving = Tasklet.Spawn(async () =>
            {
                while (await pair.Server.ReadLineAsync() is { } line) await pair.Server.WriteAsync(Bytes(line.ToUpperInvariant() + "\n"));
                await pair.Server.ShutdownAsync();
            });
            foreach (var word in new[] { "hello", "tasklet", "world" })
            {
                await pair.Client.WriteAsync(Bytes(word + "\n"));
                Assert.Equal(word.ToUpperInvariant(), await pair.Client.ReadLineAsync());
            }
            await pair.Client.ShutdownAsync();
            Assert.Null(await pair.Client.ReadLineAsync()); // the server saw the end and ended too
            await serving;
        });
    }

    [Fact]
    public void ReadHelpers_KeepWhatTheyDoNotConsume()
    {
        Run(async () =>
        {
            await using var pair = await OpenPairAsync();
            var client = pair.Client;
            await pair.Server.WriteAsync(Bytes("alpha||beta\r\nHEAD 42;tail-of-the-stream"));
            await pair.Server.ShutdownAsync();
            Assert.Equal("alpha||", Encoding.ASCII.GetString(await client.ReadUntilAsync(Bytes("||"), 100)));
            Assert.Equal("beta", await client.ReadLineAsync());
            Assert.Equal("HEAD 42;", Encoding.ASCII.GetString(await client.ReadUntilRegexAsync(new Regex(@"[A-Z]+ \d+;"), 100)));
            var tooLong = await Assert.ThrowsAsync<InvalidDataException>(async () => await client.ReadUntilAsync(Bytes("#"), 4));
            Assert.Contains("within 4 bytes", tooLong.Message);
            var exact = new byte[4];
            await client.ReadExactlyAsync(exact);
            Assert.Equal("tail", Encoding.ASCII.GetString(exact)); // nothing was lost by the failed read
            var ended = await Assert.ThrowsAsync<EndOfStreamException>(async () => await client.ReadUntilAsync(Bytes("#"), 100));
            Assert.Contains("ended before the delimiter", ended.Message);
            Assert.Equal("-of-the-stream", await client.ReadLineAsync()); // the last, unterminated line
            Assert.Null(await client.ReadLineAsync());
            await Assert.ThrowsAsync<EndOfStreamException>(async () => await client.ReadExactlyAsync(new byte[1]));
        });
    }

    [Fact]
    public void PartialReads_ReturnWhatHasArrived_AndTheEndIsZero_AgainAndAgain()
    {
        Run(async () =>
        {
            await using var pair = await OpenPairAsync();
            await pair.Server.WriteAsync(Bytes("abcdef"));
            var two = new byte[2];
            Assert.Equal(2, await pair.Client.ReadAsync(two));
            Assert.Equal("ab", Encoding.ASCII.GetString(two));
            var rest = new byte[100];
            int got = 0;
            while (got < 4) got += await pair.Client.ReadAsync(rest.AsMemory(got));
            Assert.Equal("cdef", Encoding.ASCII.GetString(rest, 0, got));
            await pair.Server.ShutdownAsync();
            Assert.Equal(0, await pair.Client.ReadAsync(rest));
            Assert.Equal(0, await pair.Client.ReadAsync(rest)); // the end stays the end
        });
    }

    [Fact]
    public void ALongLine_RoundTripsByteExact()
    {
        Run(async () =>
        {
            await using var pair = await OpenPairAsync();
            var serving = Tasklet.Spawn(async () =>
            {
                while (await pair.Server.ReadLineAsync(400_000) is { } line) await pair.Server.WriteAsync(Encoding.UTF8.GetBytes($"echo: {line}\n"));
            });
            var rng = new Random(1);
            var big = new byte[300_000]; // one long ASCII line
            for (int i = 0; i < big.Length; i++) big[i] = (byte)rng.Next('a', 'z' + 1);
            await pair.Client.WriteAsync(big);
            await pair.Client.WriteAsync("\n"u8.ToArray());
            var echoed = await pair.Client.ReadUntilAsync("\n"u8.ToArray(), 400_000);
            Assert.Equal("echo: "u8.ToArray().Concat(big).Append((byte)'\n'), echoed);
            await pair.Client.ShutdownAsync();
            await serving;
        });
    }

    [Fact]
    public void KillingAReader_KeepsTheBytesForTheNextRead()
    {
        Run(async () =>
        {
            await using var pair = await OpenPairAsync();
            var client = pair.Client;
            var reader = Tasklet.Spawn(async () => await client.ReadLineAsync());
            await pair.Server.WriteAsync(Bytes("part"));
            await Tasklet.Sleep(Ms(10)); // the bytes arrive (I/O: not what WaitAllParkedAsync waits for)
            reader.Kill();
            await reader.JoinAsync();
            Assert.True(reader.State == TaskletState.Killed, $"{reader.State}: {reader.Exception}");
            await pair.Server.WriteAsync(Bytes("ial\n"));
            Assert.Equal("partial", await client.ReadLineAsync());
            using (CancelScope.FailAfter(Ms(20)))
            {
                await Assert.ThrowsAsync<TimeoutException>(async () => await client.ReadAsync(new byte[1]));
            }
            await pair.Server.ShutdownAsync();
            Assert.Equal(0, await client.ReadAsync(new byte[1]));
        });
    }

    [Fact]
    public void ClosingAStream_WakesItsReader_WithObjectDisposed_AndRefusesLaterReadsAndWrites()
    {
        Run(async () =>
        {
            await using var pair = await OpenPairAsync();
            var client = pair.Client;
            var reader = Tasklet.Spawn(async () => await client.ReadAsync(new byte[10]));
            await Tasklet.WaitAllParkedAsync();
            client.Close();
            Assert.True(client.IsClosed);
            var e = await Record.ExceptionAsync(async () => await reader);
            Assert.True(e is ObjectDisposedException, e?.ToString());
            await Assert.ThrowsAsync<ObjectDisposedException>(async () => await client.ReadAsync(new byte[1]));
            await Assert.ThrowsAsync<ObjectDisposedException>(async () => await client.WriteAsync(new byte[1]));
        });
    }

    [Fact]
    public void WriteAfterShutdown_IsRefused_AndThePeerCanStillWriteBack()
    {
        Run(async () =>
        {
            await using var pair = await OpenPairAsync();
            await pair.Client.WriteAsync(new byte[5000]);
            await pair.Client.ShutdownAsync();
            await Assert.ThrowsAnyAsync<InvalidOperationException>(async () => await pair.Client.WriteAsync(new byte[1]));
            var all = new MemoryStream();
            var chunk = new byte[1024];
            int n;
            while ((n = await pair.Server.ReadAsync(chunk)) > 0) all.Write(chunk, 0, n);
            await pair.Server.WriteAsync(Bytes($"got {all.Length} bytes\n"));
            Assert.Equal("got 5000 bytes", await pair.Client.ReadLineAsync());
        });
    }

    [Fact]
    public void AsStream_WorksUnderStreamReaderAndStreamWriter()
    {
        Run(async () =>
        {
            await using var pair = await OpenPairAsync();
            var serving = Tasklet.Spawn(async () =>
            {
                using var reader = new StreamReader(pair.Server.AsStream(), Encoding.UTF8, leaveOpen: true);
                await using var writer = new StreamWriter(pair.Server.AsStream(), new UTF8Encoding(false), leaveOpen: true) { AutoFlush = true };
                while (await reader.ReadLineAsync() is { } line) await writer.WriteLineAsync($"[{line}]");
            });
            var stream = pair.Client.AsStream();
            Assert.Same(stream, pair.Client.AsStream());
            Assert.Throws<NotSupportedException>(() => stream.Read(new byte[1], 0, 1));
            await stream.WriteAsync(Bytes("one\ntwo\n"));
            using var lines = new StreamReader(stream, Encoding.UTF8, leaveOpen: true);
            Assert.Equal("[one]", await lines.ReadLineAsync());
            Assert.Equal("[two]", await lines.ReadLineAsync());
            await pair.Client.ShutdownAsync();
            await serving;
        });
    }
}

/// <summary>The IOStream suite over TcpStream (a <see cref="ConnectedPair"/>).</summary>
public class TcpStreamConformanceTests : IOStreamConformanceTests
{
    protected override async Task<StreamPair> OpenPairAsync()
    {
        var tcp = await ConnectedPair.OpenAsync();
        return new StreamPair(tcp.Client, tcp.Accepted, tcp.DisposeAsync);
    }
}

/// <summary>The IOStream suite over TlsStream: a handshake with the test certificate over a loopback <see cref="ConnectedPair"/>.</summary>
public class TlsStreamConformanceTests : IOStreamConformanceTests
{

    protected override async Task<StreamPair> OpenPairAsync()
    {
        var tcp = await ConnectedPair.OpenAsync();
        try
        {
            var serverSide = Tasklet.Spawn(async () => await TlsStream.AuthenticateAsServerAsync(tcp.Accepted, TestCertificate.Lazy.Value), "tls server handshake");
            var client = await TlsStream.AuthenticateAsClientAsync(tcp.Client, "localhost", TestCertificate.Trusting());
            var server = await serverSide;
            return new StreamPair(client, server, async () =>
            {
                await client.DisposeAsync();
                await server.DisposeAsync();
                await tcp.DisposeAsync();
            });
        }
        catch
        {
            await tcp.DisposeAsync();
            throw;
        }
    }
}
