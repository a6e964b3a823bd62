using System.Runtime.InteropServices;
using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

/// <summary>Signals through a real kill(getpid(), SIGUSR1). Only this class uses SIGUSR1.</summary>
public partial class SignalTests
{
    private const int SIGUSR1 = 10;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SendSignal(int pid, int signum);

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (int i = 0; i < 500 && !condition(); i++) await Tasklet.Sleep(Ms(2));
        Assert.True(condition(), "the signal never arrived");
    }

    [Fact]
    public void SignalHandlers_RunOnTheLoop_AndCancellingOneKeepsTheOthers()
    {
        Run(async loop =>
        {
            int loopThread = Environment.CurrentManagedThreadId;
            var calls = new List<string>();
            var first = loop.AddSignalHandler(SIGUSR1, () => calls.Add($"first on {Environment.CurrentManagedThreadId == loopThread}"));
            var second = loop.AddSignalHandler(SIGUSR1, () => calls.Add("second"));
            Assert.Equal(SIGUSR1, first.Signum);

            Assert.Equal(0, SendSignal(Environment.ProcessId, SIGUSR1));
            await WaitUntil(() => calls.Count == 2);
            Assert.Equal(["first on True", "second"], calls);

            first.Cancel();
            calls.Clear();
            Assert.Equal(0, SendSignal(Environment.ProcessId, SIGUSR1));
            await WaitUntil(() => calls.Count == 1);
            Assert.Equal(["second"], calls);

            Assert.True(loop.RemoveSignalHandler(SIGUSR1));
            Assert.False(loop.RemoveSignalHandler(SIGUSR1));
            Assert.True(second.IsCanceled);
        });
    }

    [Fact]
    public void SignalHandler_ThatThrows_IsReported_AndTheLoopGoesOn()
    {
        var reports = new List<LoopExceptionEventArgs>();
        Run(async loop =>
        {
            bool ran = false;
            var bad = loop.AddSignalHandler(SIGUSR1, () => throw new InvalidOperationException("handler broke"));
            var good = loop.AddSignalHandler(SIGUSR1, () => ran = true);
            SendSignal(Environment.ProcessId, SIGUSR1);
            await WaitUntil(() => ran);
            bad.Cancel();
            good.Cancel();
        }, reports);
        var report = Assert.Single(reports);
        Assert.Contains("signal 10", report.Source);
    }
}
