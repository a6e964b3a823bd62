using Evergreen.IO.Http;
using Evergreen.Sync;
using static Evergreen.Tests.RawHttpServer;
using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

// HttpSession's keep-alive pool: reuse, the per-origin bound, the idle timeout, stale connections.
public class HttpSessionPoolTests
{
    [Fact]
    public void KeepAlive_OneConnectionServesManyRequests_OnePoolPerOrigin()
    {
        Run(async () =>
        {
            await using var a = new RawHttpServer(Always(Ok("a")));
            await using var b = new RawHttpServer(Always(Ok("b")));
            await using var http = new HttpSession();
            for (int i = 0; i < 10; i++)
            {
                Assert.Equal("a", (await http.GetAsync(a.Url($"/{i}"))).Text);
                Assert.Equal("b", (await http.GetAsync(b.Url($"/{i}"))).Text);
            }
            Assert.Equal(1, a.Accepted);
            Assert.Equal(1, b.Accepted);
            Assert.Equal(Enumerable.Range(0, 10), a.Requests.Select(r => r.IndexOnConnection));
            Assert.Equal(2, http.IdleConnectionCount);
            Assert.Equal(0, http.ActiveConnectionCount);
        });
    }

    [Fact]
    public void AConnectionCloseResponse_IsNotPooled()
    {
        Run(async () =>
        {
            await using var server = new RawHttpServer(async (_, conn) =>
            {
                await Send(conn, Ok("bye", "Connection: close\r\n"));
                return false;
            });
            await using var http = new HttpSession();
            for (int i = 0; i < 3; i++) Assert.Equal("bye", (await http.GetAsync(server.Url())).Text);
            Assert.Equal(3, server.Accepted);
            Assert.Equal(0, http.IdleConnectionCount);
        });
    }

    [Fact]
    public void MoreConcurrentRequestsThanTheBound_NeverOpenMoreConnections_AndAllComplete()
    {
        const int bound = 3, requests = bound + 5;
        Run(async () =>
        {
            // The server holds each answer until `bound` requests are in flight at once, so the
            // requests really overlap; the ones over the bound wait in the pool meanwhile.
            int inFlight = 0, mostActive = 0;
            var full = new AsyncEvent();
            HttpSession? http = null;
            await using var server = new RawHttpServer(async (request, conn) =>
            {
                if (++inFlight == bound) full.Set();
                mostActive = Math.Max(mostActive, http!.ActiveConnectionCount);
                await full.WaitAsync();
                inFlight--;
                await Send(conn, Ok(request.Target));
                return true;
            });
            await using var session = http = new HttpSession(new HttpSessionOptions { MaxConnectionsPerOrigin = bound });
            var results = new string[requests];
            await using (var group = new TaskGroup())
            {
                for (int i = 0; i < requests; i++)
                {
                    int n = i;
                    group.Spawn(async () => results[n] = (await session.GetAsync(server.Url($"/{n}"))).Text);
                }
            }
            Assert.Equal(Enumerable.Range(0, requests).Select(i => $"/{i}"), results);
            Assert.Equal(bound, server.Accepted);
            Assert.Equal(bound, server.MaxOpen);
            Assert.Equal(bound, mostActive);
            Assert.Equal(bound, session.IdleConnectionCount);
        });
    }

    [Fact]
    public void WaitersOverTheBound_AreServedInArrivalOrder()
    {
        Run(async () =>
        {
            var order = new List<int>();
            var release = new AsyncEvent();
            await using var server = new RawHttpServer(async (request, conn) =>
            {
                if (request.Target == "/0") await release.WaitAsync();
                await Send(conn, Ok(request.Target));
                return true;
            });
            await using var http = new HttpSession(new HttpSessionOptions { MaxConnectionsPerOrigin = 1 });
            await using (var group = new TaskGroup())
            {
                for (int i = 0; i < 5; i++)
                {
                    int n = i;
                    group.Spawn(async () =>
                    {
                        await http.GetAsync(server.Url($"/{n}"));
                        order.Add(n);
                    });
                }
                group.Spawn(async () =>
                {
                    while (server.Requests.Count == 0) await Tasklet.Yield(); // bounded: the first request arrives
                    release.Set();
                });
            }
            Assert.Equal([0, 1, 2, 3, 4], order);
            Assert.Equal(1, server.Accepted);
        });
    }

    [Fact]
    public void IdleConnections_AreClosedAfterTheIdleTimeout()
    {
        Run(async () =>
        {
            await using var server = new RawHttpServer(Always(Ok("x")));
            await using var http = new HttpSession(new HttpSessionOptions { IdleTimeout = Ms(100) });
            await using (var group = new TaskGroup())
            {
                for (int i = 0; i < 2; i++) group.Spawn(async () => await http.GetAsync(server.Url()));
            }
            Assert.Equal(2, http.IdleConnectionCount);
            while (server.Open > 0) // the pool's timer closes them
            {
                server.ConnectionEnded.Clear();
                await server.ConnectionEnded.WaitAsync();
            }
            Assert.Equal(0, http.IdleConnectionCount);
            Assert.Equal(0, http.ActiveConnectionCount);
            Assert.Equal("x", (await http.GetAsync(server.Url())).Text); // a new connection
            Assert.Equal(3, server.Accepted);
        });
    }

    [Fact]
    public void AnIdleConnectionTheServerClosed_IsNotReused()
    {
        Run(async () =>
        {
            await using var server = new RawHttpServer(async (_, conn) =>
            {
                await Send(conn, Ok("once")); // says keep-alive, then closes anyway
                return false;
            });
            await using var http = new HttpSession();
            Assert.Equal("once", (await http.GetAsync(server.Url())).Text);
            await server.ConnectionEnded.WaitAsync();
            await Tasklet.Sleep(Ms(20)); // the client's stream reads the EOF in the background
            Assert.Equal("once", (await http.GetAsync(server.Url())).Text);
            Assert.Equal(2, server.Accepted);
            Assert.Equal(2, server.Requests.Count); // not sent on the dead connection first
        });
    }

    [Fact]
    public void AStaleConnection_ClosedAsTheRequestArrives_IsRetriedOnce_ForAGet()
    {
        Run(async () =>
        {
            // The server takes the second request on the kept connection and closes without a byte:
            // what a client sees when the server's keep-alive timeout crosses its request.
            await using var server = new RawHttpServer(async (request, conn) =>
            {
                if (request.IndexOnConnection == 1) return false;
                await Send(conn, Ok($"answer {request.Connection}"));
                return true;
            });
            await using var http = new HttpSession();
            Assert.Equal("answer 1", (await http.GetAsync(server.Url())).Text);
            Assert.Equal("answer 2", (await http.GetAsync(server.Url())).Text);
            Assert.Equal(2, server.Accepted);
            Assert.Equal(3, server.Requests.Count);
        });
    }

    [Fact]
    public void AStaleConnection_IsNotRetried_ForAPost()
    {
        Run(async () =>
        {
            await using var server = new RawHttpServer(async (request, conn) =>
            {
                if (request.IndexOnConnection == 1) return false;
                await Send(conn, Ok("ok"));
                return true;
            });
            await using var http = new HttpSession();
            await http.GetAsync(server.Url());
            var error = await Assert.ThrowsAsync<IOException>(async () => await http.PostAsync(server.Url("/pay"), "x"u8.ToArray(), "text/plain"));
            Assert.Contains("not idempotent", error.Message);
            Assert.Contains(server.Url("/pay"), error.Message);
            Assert.Equal(1, server.Accepted);
            Assert.Equal(0, http.IdleConnectionCount + http.ActiveConnectionCount);
        });
    }

    [Fact]
    public void AFreshConnectionClosedWithoutAResponse_IsAnError_NotARetry()
    {
        Run(async () =>
        {
            await using var server = new RawHttpServer((_, _) => Task.FromResult(false));
            await using var http = new HttpSession();
            var error = await Assert.ThrowsAsync<IOException>(async () => await http.GetAsync(server.Url("/void")));
            Assert.Contains("closed the connection without sending a response", error.Message);
            Assert.Equal(1, server.Accepted);
        });
    }

    [Fact]
    public void DisposeAsync_ClosesPooledConnections_AndLaterCallsAreRefused()
    {
        Run(async () =>
        {
            await using var server = new RawHttpServer(Always(Ok("x")));
            var http = new HttpSession();
            await http.GetAsync(server.Url());
            Assert.Equal(1, http.IdleConnectionCount);
            await http.DisposeAsync();
            Assert.Equal(0, http.IdleConnectionCount);
            await server.ConnectionEnded.WaitAsync();
            await Assert.ThrowsAsync<ObjectDisposedException>(async () => await http.GetAsync(server.Url()));
            await http.DisposeAsync(); // twice: nothing
        });
    }

    [Fact]
    public void DisposeAsync_WhileARequestWaitsForAConnection_FailsTheWaiter()
    {
        Run(async () =>
        {
            var release = new AsyncEvent();
            await using var server = new RawHttpServer(async (_, conn) =>
            {
                await release.WaitAsync();
                await Send(conn, Ok("late"));
                return true;
            });
            var http = new HttpSession(new HttpSessionOptions { MaxConnectionsPerOrigin = 1 });
            var first = Tasklet.Spawn(async () => (await http.GetAsync(server.Url())).Text);
            var second = Tasklet.Spawn(async () => (await http.GetAsync(server.Url())).Text);
            while (server.Requests.Count == 0) await Tasklet.Yield();
            await http.DisposeAsync();
            await Assert.ThrowsAsync<ObjectDisposedException>(async () => await second);
            release.Set();
            Assert.Equal("late", await first); // the request in flight finishes; its connection is then closed
            Assert.Equal(0, http.IdleConnectionCount + http.ActiveConnectionCount);
        });
    }
}
