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
    private bool _discarding;

    /// <summary>The client closed the control connection.</summary>
    public bool Ended { get; private set; }

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

    /// <summary>A whole line from the buffer, if there is one; an overlong line is reported once, when it ends.</summary>
    private ControlLine? Frame()
    {
        var frame = LineFramer.Next(_buffer.AsSpan(_start, _end - _start), maxLength);
        var endedLine = frame.Consumed > 0 && _buffer[_start + frame.Consumed - 1] == (byte)'\n';
        _start += frame.Consumed;
        if (frame.TooLong)
        {
            _discarding = !endedLine;
            return endedLine ? new ControlLine("", true) : null;
        }
        if (frame.Line is null) return null;
        if (!_discarding) return new ControlLine(frame.Line, false);
        // The tail of an overlong line.
        _discarding = false;
        return new ControlLine("", true);
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

    private void End()
    {
        Ended = true;
        _closed.TrySetResult();
    }
}
