namespace ScriptFtp.Plugins;

/// <summary>
/// Bytes that uploads share, such as what is left of a user's quota. An upload given it with
/// <see cref="PluginContext.LimitUpload(UploadAllowance)"/> takes from it as its bytes arrive and is cut off (552, nothing
/// kept) when it runs dry, so uploads running at the same time cannot together bring more than it holds. When an upload
/// ends the server settles: an upload that is not stored gives back all it took; one that is stored gives back what it
/// took beyond the growth of the home (an upload that replaced a file of 10 bytes with one of 30 keeps 20 taken).
/// Thread-safe.
/// </summary>
/// <param name="bytes">What it holds at first.</param>
public sealed class UploadAllowance(long bytes)
{
    private long _remaining = bytes;

    /// <summary>What is left; negative once more was used than it held (files added by other means).</summary>
    public long Remaining => Interlocked.Read(ref _remaining);

    /// <summary>Adds bytes (a file was deleted), or takes them away when negative.</summary>
    public void Add(long bytes) => Interlocked.Add(ref _remaining, bytes);

    /// <summary>Sets what is left, after counting anew.</summary>
    public void Reset(long bytes) => Interlocked.Exchange(ref _remaining, bytes);

    /// <summary>Takes <paramref name="bytes"/> if that many are left; false (and nothing taken) if not.</summary>
    internal bool TryTake(long bytes)
    {
        var seen = Remaining;
        while (true)
        {
            if (seen < bytes) return false;
            var before = Interlocked.CompareExchange(ref _remaining, seen - bytes, seen);
            if (before == seen) return true;
            seen = before;
        }
    }
}
