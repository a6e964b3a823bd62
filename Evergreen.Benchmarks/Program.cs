// Evergreen's BenchmarkDotNet micro-benchmarks (docs/benchmarks.md has the numbers).
//   dotnet run -c Release --project Evergreen.Benchmarks -- --filter '*'        every benchmark
//   dotnet run -c Release --project Evergreen.Benchmarks -- --filter '*Yield*'  one class
//   dotnet run -c Release --project Evergreen.Benchmarks -- --memory           bytes per parked tasklet
//   dotnet run -c Release --project Evergreen.Benchmarks -- --cross-thread-memory  bytes per queued CallFromThread
using BenchmarkDotNet.Running;
using Evergreen.Benchmarks;

if (args.Contains("--memory"))
{
    return ParkedMemory.Run();
}

if (args.Contains("--cross-thread-memory"))
{
    return CrossThreadMemory.Run();
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, BenchConfig.Create());
return 0;
