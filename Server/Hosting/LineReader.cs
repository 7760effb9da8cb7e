using System.Buffers;
using System.Net.Sockets;

namespace ScriptFtp;

/// <summary>A control line as read: its text, or the mark of a line over the limit (whose bytes were dropped).</summary>
internal readonly record struct ControlLine(string Text, bool TooLong);

/// <summary>
/// Reads control lines with the core's framer. An idle connection holds no buffer: it waits with a zero-byte read, rents
/// a buffer only once bytes are there, and gives it back as soon as every byte read has been framed.
/// </summary>
internal sealed class LineReader(Stream stream, int maxLength)
{
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private byte[]? _buffer;
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
            try
            {
                // A thousand idle sessions would otherwise hold a thousand buffers; SslStream passes the wait through too.
                // The wait only: it reads nothing (its result says nothing either, so the read below is what sees the end).
                if (_buffer is null) _ = await stream.ReadAsync(Memory<byte>.Empty, cancel);
                _buffer ??= ArrayPool<byte>.Shared.Rent(maxLength * 2 + 2);
                read = await stream.ReadAsync(_buffer.AsMemory(_end), cancel);
            }
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
        if (_buffer is null) return null;
        var frame = LineFramer.Next(_buffer.AsSpan(_start, _end - _start), maxLength);
        _start += frame.Consumed;
        if (frame.TooLong) return new ControlLine("", true);
        return frame.Line is null ? null : new ControlLine(frame.Line, false);
    }

    private void Compact()
    {
        if (_start == _end) Release();
        else if (_start > 0)
        {
            Array.Copy(_buffer!, _start, _buffer!, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
    }

    private void Release()
    {
        if (_buffer is not null) ArrayPool<byte>.Shared.Return(_buffer);
        (_buffer, _start, _end) = (null, 0, 0);
    }

    private void End()
    {
        Release();
        _closed.TrySetResult();
    }
}
