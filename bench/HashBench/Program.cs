// What one password check costs, and what 40 at once cost in memory with and without the server's bound
// (HashSlots, one slot per core). Usage: dotnet run -c Release --project bench/HashBench [unbounded]
// The peak is the process's (VmHWM) and only rises, so each mode runs in a process of its own.
using System.Diagnostics;
using ScriptFtp;

const int Parallel = 40;
var stored = Passwords.Hash("the right one");
Passwords.Verify(stored, "warm-up");

// Wall time swings with the machine's load; the processor time of the sequential checks does not.
var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
var times = new List<double>();
for (var i = 0; i < 15; i++)
{
    var watch = Stopwatch.StartNew();
    Passwords.Verify(stored, "wrong");
    times.Add(watch.Elapsed.TotalMilliseconds);
}
var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalMilliseconds / times.Count;
times.Sort();
Console.WriteLine($"one Argon2id check (m={Passwords.MemoryKiB} KiB, t={Passwords.Passes}, p={Passwords.Lanes}): " +
                  $"median {times[times.Count / 2]:0.0} ms, min {times[0]:0.0} ms, max {times[^1]:0.0} ms; {cpu:0.0} ms of processor time");

var unbounded = args is ["unbounded"];
using var self = Process.GetCurrentProcess();
self.Refresh();
var before = self.PeakWorkingSet64;
var slots = HashSlots.PerCore();
var all = Stopwatch.StartNew();
var checks = Enumerable.Range(0, Parallel).Select(i => unbounded
    ? Task.Run(() => Passwords.Verify(stored, $"guess {i}"))
    : slots.RunAsync(() => Passwords.Verify(stored, $"guess {i}")));
var results = await Task.WhenAll(checks);
all.Stop();
self.Refresh();
Console.WriteLine($"{Parallel} failing checks at once, {(unbounded ? "unbounded" : $"{slots.Count} slots")}: " +
                  $"{all.Elapsed.TotalMilliseconds:0} ms in all, {results.Count(r => r)} matched, " +
                  $"peak working set {before / 1048576} MiB before, {self.PeakWorkingSet64 / 1048576} MiB after");
