namespace ScriptFtp;

/// <summary>
/// Runs password hashes on the thread pool, at most a fixed number at once. Each Argon2id hash holds 19 MiB for a fifth of a
/// second: unbounded, a burst of logins would take 19 MiB per attempt and starve the pool of threads. Callers
/// beyond the limit wait without a thread, and with more hashes running than cores none would finish sooner anyway.
/// </summary>
internal sealed class HashSlots
{
    private readonly SemaphoreSlim _free;

    /// <summary>Allows <paramref name="count"/> hashes at once.</summary>
    public HashSlots(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        Count = count;
        _free = new SemaphoreSlim(count, count);
    }

    /// <summary>One slot per core.</summary>
    public static HashSlots PerCore() => new(Environment.ProcessorCount);

    /// <summary>How many hashes may run at once.</summary>
    public int Count { get; }

    /// <summary>Waits for a free slot (or <paramref name="cancel"/>), then runs <paramref name="hash"/> on the pool.</summary>
    public async Task<T> RunAsync<T>(Func<T> hash, CancellationToken cancel = default)
    {
        await _free.WaitAsync(cancel);
        try
        {
            return await Task.Run(hash, CancellationToken.None);
        }
        finally
        {
            // The last hash to end gives its 19 MiB back to the system; while others run, the next one reuses it anyway.
            if (_free.Release() == Count - 1) GiveBackMemory();
        }
    }

    /// <summary>
    /// Returns the memory of finished hashes to the system. Each leaves a 19 MiB array that the collector would otherwise
    /// keep committed until memory is short: an idle server would look three times its size.
    /// </summary>
    public static void GiveBackMemory() => GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
}
