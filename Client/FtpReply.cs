namespace ScriptFtp.Client;

// One complete FTP reply: its three-digit code and every line as the server sent it.
internal sealed record FtpReply(int Code, IReadOnlyList<string> Lines)
{
    public bool IsPreliminary => Code is >= 100 and < 200;
    public bool IsCompletion => Code is >= 200 and < 300;
    public bool IsIntermediate => Code is >= 300 and < 400;
    public bool IsNegative => Code >= 400;

    public string Text => string.Join(Environment.NewLine, Lines);

    // The first line without its code, e.g. the path part of a 257 or the port part of a 229.
    public string Message => Lines[0].Length > 4 ? Lines[0][4..] : "";

    // Reads one reply (RFC 959 4.2): either a single line ddd text, or
    // ddd-text followed by any lines until one that starts with the same code and a space.
    // Returns null when the stream ends before the reply is complete, which callers treat as a lost connection.
    public static async Task<FtpReply?> ReadAsync(TextReader reader, CancellationToken cancellationToken = default)
    {
        var first = await reader.ReadLineAsync(cancellationToken);
        if (first is null)
            return null;
        var code = ParseCode(first);
        var lines = new List<string> { first };
        if (first.Length < 4 || first[3] != '-')
            return new FtpReply(code, lines);

        var prefix = first[..3];
        while (true)
        {
            var line = await reader.ReadLineAsync(cancellationToken);
            if (line is null)
                return null;
            lines.Add(line);
            // Some servers end a multi-line reply with the bare code; RFC 959 wants "ddd ", accept both.
            if (line.StartsWith(prefix, StringComparison.Ordinal) && (line.Length == 3 || line[3] == ' '))
                return new FtpReply(code, lines);
        }
    }

    static int ParseCode(string line)
    {
        if (line.Length < 3 || !char.IsAsciiDigit(line[0]) || !char.IsAsciiDigit(line[1]) || !char.IsAsciiDigit(line[2])
            || (line.Length > 3 && line[3] is not (' ' or '-')))
            throw new FtpProtocolException($"Malformed reply from server: '{line}'");
        return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    }
}

// The server refused a command; the reply says why.
internal sealed class FtpReplyException(FtpReply reply) : Exception(reply.Text)
{
    public FtpReply Reply { get; } = reply;
}

// The control connection closed or reset; the session cannot go on.
internal sealed class FtpConnectionLostException(string message, Exception? inner = null) : Exception(message, inner);

// The server sent something that is not FTP.
internal sealed class FtpProtocolException(string message) : Exception(message);

// The data connection broke during a transfer while the control connection stayed up.
internal sealed class FtpTransferException(Exception inner) : Exception($"The data connection failed: {inner.Message}", inner);
