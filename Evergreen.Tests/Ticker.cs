using System.Diagnostics;

namespace Evergreen.Tests;

/// <summary>
/// A tasklet that sleeps <c>period</c> in a loop and records how often it ran and its longest
/// gap: the probe for "the loop keeps serving other tasklets while this one waits".
/// </summary>
internal sealed class Ticker
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Tasklet _tasklet;
    private bool _stop;

    private Ticker(TimeSpan period)
    {
        _tasklet = Tasklet.Spawn(async () =>
        {
            var last = _clock.Elapsed;
            while (!_stop)
            {
                await Tasklet.Sleep(period);
                var now = _clock.Elapsed;
                if (now - last > LongestGap) LongestGap = now - last;
                last = now;
                Ticks++;
            }
        }, "ticker");
    }

    /// <summary>Spawns a ticker on the current loop.</summary>
    public static Ticker Start(TimeSpan period) => new(period);

    public int Ticks { get; private set; }

    public TimeSpan LongestGap { get; private set; }

    /// <summary>Time since the ticker started.</summary>
    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>Stops the ticker and waits for its tasklet to end.</summary>
    public async Task StopAsync()
    {
        _stop = true;
        await _tasklet;
    }
}
