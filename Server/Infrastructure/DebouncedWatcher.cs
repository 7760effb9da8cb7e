namespace ScriptFtp;

/// <summary>
/// Watches a folder and calls back once changes have settled: editors save in bursts (truncate, write, rename), and
/// each event restarts the wait, so a burst leads to one call. Nothing is called after <see cref="Dispose"/>.
/// </summary>
internal sealed class DebouncedWatcher : IDisposable
{
    private readonly FileSystemWatcher _watcher;
    private readonly Timer _timer;
    private readonly TimeSpan _delay;
    private readonly Lock _gate = new();
    private bool _disposed;

    /// <param name="folder">The folder to watch (not its subfolders).</param>
    /// <param name="filter">Which names to watch, e.g. <c>*.csx</c> or one file name.</param>
    /// <param name="delay">How long the folder must stay quiet before <paramref name="settled"/> runs.</param>
    /// <param name="settled">What to do once changes settled; runs on the thread pool.</param>
    /// <param name="failed">Told when the watcher itself fails (its buffer overflowed); a call to settled follows.</param>
    /// <param name="relevant">Which events count; all by default.</param>
    public DebouncedWatcher(string folder, string filter, TimeSpan delay, Action settled, Action<Exception>? failed = null,
        Func<FileSystemEventArgs, bool>? relevant = null)
    {
        _delay = delay;
        _timer = new Timer(_ =>
        {
            if (!Volatile.Read(ref _disposed))
                settled();
        });
        _watcher = new FileSystemWatcher(folder, filter)
        {
            IncludeSubdirectories = false,
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
        };
        void Changed(object sender, FileSystemEventArgs e)
        {
            if (relevant?.Invoke(e) ?? true)
                Poke();
        }
        _watcher.Changed += Changed;
        _watcher.Created += Changed;
        _watcher.Deleted += Changed;
        _watcher.Renamed += Changed;
        _watcher.Error += (_, e) =>
        {
            failed?.Invoke(e.GetException());
            Poke();
        };
        _watcher.EnableRaisingEvents = true;
    }

    /// <summary>Starts (or restarts) the wait, as a change would.</summary>
    public void Poke()
    {
        lock (_gate)
        {
            if (!_disposed)
                _timer.Change(_delay, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Stops watching; a pending call is dropped.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
                return;
            _disposed = true;
        }
        _watcher.Dispose();
        _timer.Dispose();
    }
}
