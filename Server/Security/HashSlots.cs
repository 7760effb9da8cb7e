namespace ScriptFtp;

/// <summary>
/// Runs password hashes on the thread pool, at most a fixed number at once. Each Argon2id hash holds 19 MiB for a fifth of a
/// second: unbounded, a burst of logins would take 19 MiB per attempt and starve the pool of threads. Callers
/// beyond the limit wait without a thread, and with more hashes running than cores none would finish sooner anyway.
/// </summary>
internal sealed class HashSlots : IDisposable
{
    private readonly SemaphoreSlim _free;
    private readonly Timer _idle;

    /// <summary>Allows <paramref name="count"/> hashes at once.</summary>
    public HashSlots(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        Count = count;
        _free = new SemaphoreSlim(count, count);
        _idle = new Timer(_ => { if (_free.CurrentCount == Count) GiveBackMemory(); });
    }

    /// <summary>
    /// Gives the memory of finished hashes back once no hash has run for <see cref="IdleBeforeGivingBack"/>; also for a hash
    /// made outside the slots (the dummy hash made at start).
    /// </summary>
    public void GiveBackWhenIdle() => _idle.Change(IdleBeforeGivingBack, Timeout.InfiniteTimeSpan);

    /// <inheritdoc/>
    public void Dispose() => _idle.Dispose();

    /// <summary>How long hashing must have been idle before its memory is given back.</summary>
    public static readonly TimeSpan IdleBeforeGivingBack = TimeSpan.FromSeconds(2);

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
            // Once hashing has been idle a while, its 19 MiB go back to the system. Not at once: a collection pauses every
            // session, and logins that come one by one would pay it each time; the next hash reuses the memory anyway.
            if (_free.Release() == Count - 1) GiveBackWhenIdle();
        }
    }

    // Each finished hash leaves a 19 MiB array that the collector would otherwise keep committed until memory is short:
    // an idle server would look three times its size.
    private static void GiveBackMemory() => GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
}
