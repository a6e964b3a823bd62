using Evergreen.Native;
using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

public class NativeTests
{
    [Fact]
    public void MissingLibuv_IsAClearErrorSayingHowToInstallIt()
    {
        string[] names = ["libuv-not-here.so.9"];
        Assert.Null(LibUvLoader.TryLoad(names));
        var e = LibUvLoader.NotFound(names);
        Assert.Contains("libuv 1.x", e.Message);
        Assert.Contains("apt-get install libuv1", e.Message);
        Assert.Contains("dnf install libuv", e.Message);
        Assert.Contains("brew install libuv", e.Message);
    }

    [Fact]
    public void UvException_NamesTheErrorTheOperationAndTheTarget()
    {
        using var loop = new EventLoop(); // loads libuv
        var e = new UvException(-111, "connect", "127.0.0.1:9");
        Assert.Equal("ECONNREFUSED", e.ErrorName);
        Assert.Equal("ECONNREFUSED in connect to 127.0.0.1:9 (connection refused)", e.Message);
        Assert.IsAssignableFrom<IOException>(e);
    }

    [Theory]
    [InlineData("connect", "ECONNREFUSED in connect to 127.0.0.1:9")]
    [InlineData("read", "ECONNREFUSED in read from 127.0.0.1:9")]
    [InlineData("listen", "ECONNREFUSED in listen on 127.0.0.1:9")]
    [InlineData("accept", "ECONNREFUSED in accept on 127.0.0.1:9")]
    [InlineData("getaddrinfo", "ECONNREFUSED in getaddrinfo for 127.0.0.1:9")]
    [InlineData("receive on UdpEndpoint #3", "ECONNREFUSED in receive on UdpEndpoint #3 from 127.0.0.1:9")]
    [InlineData("send of a 64-byte datagram", "ECONNREFUSED in send of a 64-byte datagram to 127.0.0.1:9")]
    public void UvException_PrepositionFitsTheOperation(string operation, string start)
    {
        using var loop = new EventLoop();
        Assert.StartsWith(start + " (", new UvException(-111, operation, "127.0.0.1:9").Message);
    }

    [Theory]
    [InlineData("Prepare")]
    [InlineData("Check")]
    [InlineData("Idle")]
    public void LoopHooks_RunOncePerIteration_AndCloseCleanly(string kind)
    {
        var type = Enum.Parse<UvHandleType>(kind);
        Run(async loop =>
        {
            int ticks = 0;
            var hook = new UvLoopHook(loop, type, () => ticks++, "test hook");
            try
            {
                hook.Start();
                // Under load the sleeps can all be due before the loop polls even once (a due timer
                // makes the tasklet ready without entering libuv): wait for ticks, boundedly.
                for (int i = 0; i < 1000 && ticks < 3; i++) await Tasklet.Sleep(Ms(1));
                hook.Stop();
                int seen = ticks;
                await Tasklet.Sleep(Ms(2));
                Assert.True(seen >= 3, $"{type} ran {seen} times in 1000 sleeps");
                Assert.Equal(seen, ticks);
            }
            finally
            {
                hook.Close(); // an active, referenced handle left open would keep the loop alive
            }
        });
    }

    [Fact]
    public void ExceptionInANativeCallback_IsReported_AndNeverUnwindsIntoLibuv()
    {
        var reports = new List<LoopExceptionEventArgs>();
        Run(async loop =>
        {
            var timer = new UvTimer(loop, () => throw new InvalidOperationException("in a native callback"), "throwing timer");
            try
            {
                timer.Start(1);
                await Tasklet.Sleep(Ms(10));
            }
            finally
            {
                timer.Close();
            }
        }, reports);
        var report = Assert.Single(reports);
        Assert.Contains("timer callback", report.Source);
    }

    [Fact]
    public void ARefedHandle_KeepsRunAlive_AndUnrefLetsItReturn()
    {
        using var loop = new EventLoop();
        int fired = 0;
        UvTimer? timer = null;
        timer = new UvTimer(loop, () => { if (++fired == 4) timer!.Close(); }, "repeating");
        timer.Start(1, 1);
        timer.Unref();
        loop.Run(); // unreferenced: Run returns at once
        Assert.Equal(0, fired);
        timer.Ref();
        loop.Run(); // referenced: Run keeps going until the timer closes itself on its 4th tick
        Assert.Equal(4, fired);
        AssertClean(loop);
    }
}

public class PollFairnessTests
{
    [Fact]
    public void OverdueTimers_DoNotStarveLibuvPolling()
    {
        // Each callback schedules the next 1 ms out, then holds the loop for 3 ms: when the batch
        // ends, a timer is already overdue. The loop must still enter libuv between batches (a
        // check handle, referenced like any I/O watcher, counts loop iterations); it used to go
        // from batch to batch without polling until the chain ended.
        using var loop = new EventLoop();
        int polls = 0, callbacks = 0;
        var hook = new UvLoopHook(loop, UvHandleType.Check, () => polls++, "poll counter");
        try
        {
            hook.Start();
            void Next()
            {
                if (++callbacks < 20) loop.CallLater(TimeSpan.FromMilliseconds(1), Next);
                else loop.Stop(); // the active hook would keep Run going
                Thread.Sleep(3);
            }
            loop.CallSoon(Next);
            loop.Run();
        }
        finally
        {
            hook.Close();
        }
        loop.Run(); // the close callback
        Assert.Equal(20, callbacks);
        Assert.True(polls >= 10, $"libuv was polled {polls} times during 20 overdue callbacks");
        Assert.Empty(loop.GetUserHandles());
    }
}
