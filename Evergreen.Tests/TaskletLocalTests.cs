using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

public class TaskletLocalTests
{
    [Fact]
    public void Value_IsPerTasklet_AndSurvivesAwaits()
    {
        // Evergreen's test_local: each task sees only its own value.
        Run(async () =>
        {
            var local = new TaskletLocal<string>();
            var seen = new Dictionary<string, string?>();
            var tasklets = new[] { "a", "b", "c" }.Select(name => Tasklet.Spawn(async () =>
            {
                Assert.False(local.HasValue);
                local.Value = name;
                await Tasklet.Yield();
                await Task.Delay(2);
                await NestedAsync();
                seen[name] = local.Value;
            }, name)).ToList();
            foreach (var t in tasklets) await t;
            Assert.Equal("a", seen["a"]);
            Assert.Equal("b", seen["b"]);
            Assert.Equal("c", seen["c"]);
            Assert.False(local.HasValue); // the test tasklet never set it

            async Task NestedAsync()
            {
                await Tasklet.Sleep(TimeSpan.FromMilliseconds(1));
                Assert.Equal(Tasklet.Current!.Name, local.Value);
            }
        });
    }

    [Fact]
    public void Children_DoNotInheritTheParentsValue()
    {
        Run(async () =>
        {
            var local = new TaskletLocal<int>();
            local.Value = 7;
            var child = Tasklet.Spawn(() => Task.FromResult((local.HasValue, local.Value)));
            var (has, value) = await child;
            Assert.False(has);
            Assert.Equal(0, value);
            Assert.Equal(7, local.Value);
        });
    }

    [Fact]
    public void InitialValue_IsMadeOncePerTasklet()
    {
        Run(async () =>
        {
            int made = 0;
            var local = new TaskletLocal<List<int>>(() => { made++; return new List<int>(); });
            local.Value.Add(1);
            local.Value.Add(2);
            Assert.Equal([1, 2], local.Value);
            await Tasklet.Spawn(() => { local.Value.Add(9); return Task.CompletedTask; });
            Assert.Equal(2, made);
            Assert.Equal([1, 2], local.Value);
        });
    }

    [Fact]
    public void Clear_RemovesOnlyThisLocalsValue()
    {
        Run(() =>
        {
            var a = new TaskletLocal<string>();
            var b = new TaskletLocal<string>();
            a.Value = "x";
            b.Value = "y";
            a.Clear();
            Assert.False(a.HasValue);
            Assert.Equal("y", b.Value);
            return Task.CompletedTask;
        });
    }

    [Fact]
    public void Values_AreReleasedWhenTheTaskletEnds()
    {
        Run(async () =>
        {
            var local = new TaskletLocal<object>();
            WeakReference? weak = null;
            var t = Tasklet.Spawn(() =>
            {
                var payload = new byte[1024];
                weak = new WeakReference(payload);
                local.Value = payload;
                return Task.CompletedTask;
            });
            await t;
            GC.Collect();
            GC.WaitForPendingFinalizers();
            Assert.False(weak!.IsAlive);
            GC.KeepAlive(t);
        });
    }

    [Fact]
    public void OutsideATasklet_IsAClearError()
    {
        using var loop = new EventLoop();
        var local = new TaskletLocal<int>();
        var e = Assert.Throws<InvalidOperationException>(() => local.Value = 1);
        Assert.Contains("no current tasklet", e.Message);
        Assert.Throws<ArgumentNullException>(() => new TaskletLocal<int>(null!));
    }
}
