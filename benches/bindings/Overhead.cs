// One timed in-process rating through the .NET binding, for benches/bindings_overhead.sh:
//   mono Overhead.exe SCENARIO USAGE  → seconds for Engine.RateFile(...).ToJson()
// A tiny rating first takes the JIT and the native library load out of the measurement.
using System;
using System.Diagnostics;
using System.Globalization;
using StackBill;

internal static class Overhead
{
    private static int Main(string[] args)
    {
        Engine.Rate("{\"period\": \"2026-10\", \"platform\": {\"currency\": \"AUD\"}}").ToJson();
        var watch = Stopwatch.StartNew();
        string json = Engine.RateFile(args[0], args[1]).ToJson();
        watch.Stop();
        Console.WriteLine(watch.Elapsed.TotalSeconds.ToString("F3", CultureInfo.InvariantCulture) + " bytes=" + json.Length);
        return 0;
    }
}
