using Evergreen.IO;
using Evergreen.IO.Http;
using Evergreen.Sync;
using static Evergreen.Tests.RawHttpServer;
using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

// HttpSession's connect, first-byte and total timeouts (cancel scopes), and the caller's own deadlines.
public class HttpSessionTimeoutTests
{
    /// <summary>A server that takes requests and never answers (until the test ends).</summary>
    private static RawHttpServer Silent(AsyncEvent? received = null) => new(async (_, _) =>
    {
        received?.Set();
        await Tasklet.Sleep(TimeSpan.FromMinutes(5)); // killed when the server is disposed
        return false;
    });

    [Fact]
    public void ConnectTimeout_CoversTheTlsHandshake_AndNamesThePhase()
    {
        Run(async () =>
        {
            // The server accepts TCP and never answers the ClientHello.
            await using var tcp = TcpStreamTests.Listen();
            var holding = Tasklet.Spawn(async () =>
            {
                await using var conn = await tcp.AcceptAsync();
                await conn.ReadAsync(new byte[4096]); // the ClientHello, unanswered
                await conn.ReadAsync(new byte[4096]); // then the client gives up and closes
            });
            await using var http = new HttpSession(new HttpSessionOptions { ConnectTimeout = Ms(200), Tls = TrustingTls() });
            var url = $"https://localhost:{tcp.LocalEndPoint!.Port}/";
            var error = await Assert.ThrowsAsync<HttpTimeoutException>(async () => await http.GetAsync(url));
            Assert.Equal(HttpTimeoutPhase.Connect, error.Phase);
            Assert.Equal(new Uri(url), error.Url);
            Assert.Contains($"GET {url}: no connection to https://localhost:{tcp.LocalEndPoint.Port} within the 200 ms connect timeout", error.Message);
            Assert.Equal(0, http.ActiveConnectionCount);
            await holding;
        });
    }

    [Fact]
    public void FirstByteTimeout_WhenTheServerNeverAnswers()
    {
        Run(async () =>
        {
            await using var server = Silent();
            await using var http = new HttpSession(new HttpSessionOptions { FirstByteTimeout = Ms(150) });
            var url = server.Url("/slow");
            var error = await Assert.ThrowsAsync<HttpTimeoutException>(async () => await http.GetAsync(url));
            Assert.Equal(HttpTimeoutPhase.FirstByte, error.Phase);
            Assert.Equal($"GET {url}: no response within the 150 ms first-byte timeout (FirstByteTimeout)", error.Message);
            Assert.IsType<TimeoutException>(error.InnerException);
            Assert.Equal(0, http.ActiveConnectionCount + http.IdleConnectionCount); // the connection was closed
        });
    }

    [Fact]
    public void TotalTimeout_WhenTheBodyNeverEnds()
    {
        Run(async () =>
        {
            await using var server = new RawHttpServer(async (_, conn) =>
            {
                await Send(conn, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly the start");
                await Tasklet.Sleep(TimeSpan.FromMinutes(5));
                return false;
            });
            await using var http = new HttpSession(new HttpSessionOptions { TotalTimeout = Ms(200) });
            var error = await Assert.ThrowsAsync<HttpTimeoutException>(async () => await http.GetAsync(server.Url("/trickle")));
            Assert.Equal(HttpTimeoutPhase.Total, error.Phase);
            Assert.Contains("did not complete within the 200 ms total timeout", error.Message);
            Assert.Equal(0, http.ActiveConnectionCount + http.IdleConnectionCount);
        });
    }

    [Fact]
    public void TotalTimeout_FiresBeforeALongerFirstByteTimeout()
    {
        Run(async () =>
        {
            await using var server = Silent();
            await using var http = new HttpSession(new HttpSessionOptions { TotalTimeout = Ms(100), FirstByteTimeout = TimeSpan.FromSeconds(30) });
            var error = await Assert.ThrowsAsync<HttpTimeoutException>(async () => await http.GetAsync(server.Url()));
            Assert.Equal(HttpTimeoutPhase.Total, error.Phase);
        });
    }

    [Fact]
    public void TheCallersOwnDeadline_IsNotRelabelled()
    {
        Run(async () =>
        {
            await using var server = Silent();
            await using var http = new HttpSession(); // its timeouts are long
            CancelScope? mine = null;
            var error = await Assert.ThrowsAnyAsync<TimeoutException>(async () =>
            {
                using (mine = CancelScope.FailAfter(Ms(100))) await http.GetAsync(server.Url());
            });
            Assert.IsNotType<HttpTimeoutException>(error);
            Assert.Same(mine, error.Data["Evergreen.CancelScope"]);
            Assert.Equal(0, http.ActiveConnectionCount + http.IdleConnectionCount);
        });
    }

    [Fact]
    public void AKilledRequest_LeavesNoConnection_AndTheSessionGoesOn()
    {
        Run(async () =>
        {
            var received = new AsyncEvent();
            await using var server = Silent(received);
            await using var good = new RawHttpServer(Always(Ok("fine")));
            await using var http = new HttpSession();
            var fetching = Tasklet.Spawn(async () => await http.GetAsync(server.Url("/hang")));
            await received.WaitAsync(); // the request is on the wire; the fetch waits for the head
            Assert.Equal(1, http.ActiveConnectionCount);
            fetching.Kill();
            Assert.True(await fetching.JoinAsync());
            Assert.Equal(TaskletState.Killed, fetching.State);
            Assert.Equal(0, http.ActiveConnectionCount + http.IdleConnectionCount);
            Assert.Equal("fine", (await http.GetAsync(good.Url())).Text);
        });
    }

    [Fact]
    public void AKilledWaiterForAConnection_TakesNoSlot()
    {
        Run(async () =>
        {
            var received = new AsyncEvent();
            var release = new AsyncEvent();
            await using var server = new RawHttpServer(async (_, conn) =>
            {
                received.Set();
                await release.WaitAsync();
                await Send(conn, Ok("done"));
                return true;
            });
            await using var http = new HttpSession(new HttpSessionOptions { MaxConnectionsPerOrigin = 1 });
            var first = Tasklet.Spawn(async () => (await http.GetAsync(server.Url())).Text);
            await received.WaitAsync();
            var waiter = Tasklet.Spawn(async () => (await http.GetAsync(server.Url())).Text);
            await Tasklet.WaitAllParkedAsync(); // the waiter parks in the pool
            waiter.Kill();
            await waiter.JoinAsync();
            release.Set();
            Assert.Equal("done", await first);
            Assert.Equal("done", (await http.GetAsync(server.Url())).Text);
            Assert.Equal(1, server.Accepted);
        });
    }
}
