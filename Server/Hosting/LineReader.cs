using System.Net.Sockets;

namespace ScriptFtp;

/// <summary>A control line as read: its text, or the mark of a line over the limit (whose bytes were dropped).</summary>
internal readonly record struct ControlLine(string Text, bool TooLong);

/// <summary>Reads control lines with the core's framer, over a fixed buffer.</summary>
internal sealed class LineReader(Stream stream, int maxLength)
{
    private readonly byte[] _buffer = new byte[maxLength * 2 + 2];
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _start;
    private int _end;

    /// <summary>The client closed the control connection.</summary>
    public bool Ended => _closed.Task.IsCompleted;

    /// <summary>Completes when a read finds the control connection closed or broken.</summary>
    public Task Closed => _closed.Task;

    /// <summary>The next line; null when the client closed the connection.</summary>
    public async Task<ControlLine?> ReadAsync(CancellationToken cancel)
    {
        while (true)
        {
            if (Frame() is { } line) return line;
            Compact();
            int read;
            try { read = await stream.ReadAsync(_buffer.AsMemory(_end), cancel); }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
            {
                End();
                throw;
            }
            if (read == 0)
            {
                End();
                return null;
            }
            _end += read;
        }
    }

    /// <summary>
    /// A whole line from the buffer, if there is one; a line over the limit is reported as soon as the limit is reached,
    /// without waiting for its end, since the connection is closed for it (the rest is never read).
    /// </summary>
    private ControlLine? Frame()
    {
        var frame = LineFramer.Next(_buffer.AsSpan(_start, _end - _start), maxLength);
        _start += frame.Consumed;
        if (frame.TooLong) return new ControlLine("", true);
        return frame.Line is null ? null : new ControlLine(frame.Line, false);
    }

    private void Compact()
    {
        if (_start == _end) _start = _end = 0;
        else if (_start > 0)
        {
            Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
    }

    private void End() => _closed.TrySetResult();
}
