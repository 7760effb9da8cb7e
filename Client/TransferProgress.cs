using System.Diagnostics;
using System.Globalization;

namespace ScriptFtp.Client;

// Live progress on one terminal line (only when asked to), and the summary every transfer ends with.
internal sealed class TransferProgress(TextWriter output, string label, long? totalBytes, bool live)
{
    static readonly TimeSpan RedrawInterval = TimeSpan.FromMilliseconds(200);
    readonly Stopwatch clock = Stopwatch.StartNew();
    TimeSpan nextDraw = TimeSpan.Zero;
    int drawnWidth;

    public TimeSpan Elapsed => clock.Elapsed;

    public void Report(long bytes)
    {
        if (!live || clock.Elapsed < nextDraw)
            return;
        nextDraw = clock.Elapsed + RedrawInterval;
        var percent = totalBytes is > 0
            ? string.Create(CultureInfo.InvariantCulture, $" ({Math.Min(100, bytes * 100 / totalBytes.Value)}%)")
            : "";
        var text = string.Create(CultureInfo.InvariantCulture, $"{label}: {bytes:N0} bytes{percent} {FormatRate(bytes, clock.Elapsed)}");
        output.Write("\r" + text.PadRight(drawnWidth));
        output.Flush();
        drawnWidth = text.Length;
    }

    // Clears the live line so the summary starts clean.
    public void Clear()
    {
        if (drawnWidth > 0)
            output.Write("\r" + new string(' ', drawnWidth) + "\r");
        drawnWidth = 0;
    }

    public static string Summary(string verb, string from, string to, long bytes, TimeSpan elapsed) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{verb} {from} -> {to}: {bytes:N0} bytes in {elapsed.TotalSeconds:0.00} s ({FormatRate(bytes, elapsed)})");

    public static string FormatRate(long bytes, TimeSpan elapsed)
    {
        var perSecond = bytes / Math.Max(elapsed.TotalSeconds, 0.001);
        var (value, unit) = perSecond switch
        {
            >= 1e9 => (perSecond / 1e9, "GB/s"),
            >= 1e6 => (perSecond / 1e6, "MB/s"),
            >= 1e3 => (perSecond / 1e3, "KB/s"),
            _ => (perSecond, "B/s"),
        };
        return string.Create(CultureInfo.InvariantCulture, $"{value:0.0} {unit}");
    }
}
