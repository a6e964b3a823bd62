using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;

namespace Evergreen.Benchmarks;

/// <summary>
/// The one job every benchmark runs under: fewer iterations than BDN's default so the whole suite
/// fits a 2-core machine in a few minutes, still enough (3 warm-ups, 8 measured iterations of
/// ~0.5 s each, outliers removed) for means with a tight confidence interval. Workstation,
/// non-concurrent GC: one loop on one thread, no background GC thread on the second core.
/// </summary>
internal static class BenchConfig
{
    public static IConfig Create() => DefaultConfig.Instance
        .AddJob(Job.Default
            .WithStrategy(RunStrategy.Throughput)
            .WithLaunchCount(1)
            .WithWarmupCount(3)
            .WithIterationCount(8)
            .WithGcServer(false)
            .WithGcConcurrent(false)
            .WithId("Evergreen"));
}
