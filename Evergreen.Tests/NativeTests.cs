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
            hook.Start();
            for (int i = 0; i < 5; i++) await Tasklet.Sleep(Ms(1));
            hook.Stop();
            int seen = ticks;
            await Tasklet.Sleep(Ms(2));
            Assert.True(seen > 0, $"{type} never ran");
            Assert.Equal(seen, ticks);
            hook.Close();
        });
    }

    [Fact]
    public void ExceptionInANativeCallback_IsReported_AndNeverUnwindsIntoLibuv()
    {
        var reports = new List<LoopExceptionEventArgs>();
        Run(async loop =>
        {
            var timer = new UvTimer(loop, () => throw new InvalidOperationException("in a native callback"), "throwing timer");
            timer.Start(1);
            await Tasklet.Sleep(Ms(10));
            timer.Close();
        }, reports);
        var report = Assert.Single(reports);
        Assert.Contains("timer callback", report.Source);
    }

    [Fact]
    public void ARefedHandle_KeepsRunAlive_AndUnrefLetsItReturn()
    {
        using var loop = new EventLoop();
        int fired = 0;
        var timer = new UvTimer(loop, () => fired++, "repeating");
        timer.Start(1, 1);
        timer.Unref();
        loop.Run(); // unreferenced: Run returns at once
        Assert.Equal(0, fired);
        timer.Ref();
        loop.CallLater(Ms(15), () => timer.Close());
        loop.Run();
        Assert.True(fired > 3);
        AssertClean(loop);
    }
}
