using System.Text;
using Evergreen.IO;
using Evergreen.Sync;
using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

public class TcpServerTests
{
    private static byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);

    /// <summary>
    /// Serves one connection whose client sends a line and then resets; the handler reads on, and
    /// <paramref name="afterLine"/> decides how it fails (its event is set once the client has
    /// reset). Returns once the server has closed.
    /// </summary>
    private static async Task<TcpServer> ServeOneResetConnection(Func<TcpConnection, AsyncEvent, Task> afterLine, Action<TcpServer>? setUp = null)
    {
        var server = TcpStreamTests.Listen();
        setUp?.Invoke(server);
        var ended = new AsyncEvent();
        var reset = new AsyncEvent();
        var serving = Tasklet.Spawn(() => server.ServeAsync(async conn =>
        {
            try
            {
                Assert.Equal("hello", await conn.ReadLineAsync());
                await afterLine(conn, reset);
            }
            finally
            {
                ended.Set();
            }
        }));
        var client = await TcpStream.ConnectAsync(server.LocalEndPoint!);
        await client.WriteAsync(Bytes("hello\n"));
        await Tasklet.Sleep(Ms(5)); // the handler reads the line and waits for the next
        client.CloseWithReset();
        reset.Set();
        await ended.WaitAsync();
        await server.CloseAsync(TimeSpan.FromSeconds(10)); // waits for the handler's tasklet to end
        await serving;
        return server;
    }

    [Fact]
    public void ServeAsync_AHandlerEndedByThePeersReset_IsAPeerDisconnect_NotAnUnhandledCrash()
    {
        Run(async () =>
        {
            var gone = new List<(TcpConnection Connection, UvException Error)>();
            var server = await ServeOneResetConnection(
                async (conn, _) => await conn.ReadLineAsync(),
                s => s.PeerDisconnected = (conn, error) => gone.Add((conn, error)));
            var (connection, error) = Assert.Single(gone);
            Assert.Equal("ECONNRESET", error.ErrorName);
            Assert.NotNull(connection.RemoteEndPoint);
            Assert.Equal(1, server.PeerDisconnectCount);
        }); // and nothing reported as unhandled
    }

    [Fact]
    public void ServeAsync_AWriteToAPeerThatWentAway_IsAPeerDisconnect_EvenWrapped()
    {
        Run(async () =>
        {
            var gone = new List<UvException>();
            var server = await ServeOneResetConnection(async (conn, reset) =>
            {
                await reset.WaitAsync();
                await Tasklet.Sleep(Ms(5)); // the reset reaches the server's socket
                try
                {
                    for (int i = 0; i < 1000; i++) await conn.WriteAsync(new byte[1000]);
                }
                catch (UvException e)
                {
                    throw new IOException("sending the reply failed", e); // as a Stream adapter or a protocol layer would
                }
            }, s => s.PeerDisconnected = (_, error) => gone.Add(error));
            Assert.Contains(Assert.Single(gone).ErrorName, new[] { "EPIPE", "ECONNRESET" });
            Assert.Equal(1, server.PeerDisconnectCount);
        });
    }

    [Fact]
    public void ServeAsync_WithoutAHook_APeerDisconnectIsCounted_AndNotReportedAsUnhandled()
    {
        Run(async () =>
        {
            var server = await ServeOneResetConnection(async (conn, _) => await conn.ReadLineAsync());
            Assert.Equal(1, server.PeerDisconnectCount); // and one line on stderr, no stack
        });
    }

    [Fact]
    public void ServeAsync_AHandlerThatReallyFails_IsStillReportedWithItsStack()
    {
        var reports = new List<LoopExceptionEventArgs>();
        Run(async () =>
        {
            var server = await ServeOneResetConnection((_, _) => throw new FormatException("bad request"));
            Assert.Equal(0, server.PeerDisconnectCount);
        }, reports);
        var report = Assert.Single(reports);
        Assert.IsType<FormatException>(report.Exception);
        Assert.Contains("connection from", report.Source);
        Assert.NotNull(report.Exception.StackTrace);
    }
}
