using System.Buffers.Binary;

namespace ScriptFtp.Tls;

/// <summary>
/// Reads the bytes a TLS server writes at the start of a connection (record layer, then handshake messages) and decides
/// whether the handshake resumed an earlier session, because .NET's SslStream does not say. Fed in any slices: records
/// and handshake messages may be split or coalesced arbitrarily.
/// <list type="bullet">
/// <item>TLS 1.3: the ServerHello carries the <c>pre_shared_key</c> extension (0x0029) exactly when a session is
/// resumed. A HelloRetryRequest has the form of a ServerHello and is skipped: the real ServerHello follows later.</item>
/// <item>TLS 1.2: after the ServerHello a resumed handshake sends only an optional NewSessionTicket and then
/// ChangeCipherSpec; a full handshake sends Certificate, ServerKeyExchange or ServerHelloDone.</item>
/// </list>
/// Anything unexpected (the first message is no ServerHello, an alert, a malformed message) ends parsing undecided.
/// Not thread-safe; one instance per connection.
/// </summary>
internal sealed class ServerFlightParser
{
    private const byte ChangeCipherSpec = 20, Alert = 21, Handshake = 22;
    private const byte ServerHelloType = 2, NewSessionTicketType = 4;
    private const int RecordHeaderLength = 5, MaxRecordLength = (1 << 14) + 2048, MaxMessageLength = 64 * 1024;
    private const ushort SupportedVersions = 0x002b, PreSharedKey = 0x0029, Tls13 = 0x0304;

    // SHA-256("HelloRetryRequest"), the Random of a HelloRetryRequest (RFC 8446, 4.1.3).
    private static readonly byte[] HelloRetryRandom = Convert.FromHexString(
        "CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C");

    private enum Phase { AwaitServerHello, AfterTls12ServerHello, Done }

    private readonly byte[] _header = new byte[RecordHeaderLength];
    private byte[] _messages = new byte[512];
    private int _headerFill, _recordRemaining, _messageBytes;
    private byte _recordType;
    private Phase _phase = Phase.AwaitServerHello;

    /// <summary>True: the session was resumed; false: a full handshake; null: not decided (yet, or ever).</summary>
    public bool? Resumed { get; private set; }

    /// <summary>True once the parser needs no more bytes (decided, or gave up).</summary>
    public bool Done => _phase == Phase.Done;

    /// <summary>Takes the next bytes the server wrote.</summary>
    public void Feed(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty && _phase != Phase.Done)
        {
            if (_headerFill < RecordHeaderLength)
            {
                var take = Math.Min(RecordHeaderLength - _headerFill, bytes.Length);
                bytes[..take].CopyTo(_header.AsSpan(_headerFill));
                _headerFill += take;
                bytes = bytes[take..];
                if (_headerFill == RecordHeaderLength) StartRecord();
                continue;
            }
            var body = bytes[..Math.Min(_recordRemaining, bytes.Length)];
            bytes = bytes[body.Length..];
            _recordRemaining -= body.Length;
            if (_recordType == Handshake) AddHandshakeBytes(body);
            if (_recordRemaining == 0) _headerFill = 0;
        }
    }

    private void StartRecord()
    {
        _recordType = _header[0];
        _recordRemaining = BinaryPrimitives.ReadUInt16BigEndian(_header.AsSpan(3));
        if (_recordRemaining > MaxRecordLength)
        {
            GiveUp();
            return;
        }
        switch (_recordType)
        {
            case ChangeCipherSpec when _phase == Phase.AfterTls12ServerHello:
                Decide(resumed: true);
                break;
            case ChangeCipherSpec or Handshake:
                break; // a TLS 1.3 server may send ChangeCipherSpec after a HelloRetryRequest, for middlebox compatibility
            case Alert:
            default:
                GiveUp();
                break;
        }
        if (_recordRemaining == 0) _headerFill = 0;
    }

    private void AddHandshakeBytes(ReadOnlySpan<byte> body)
    {
        if (_messageBytes + body.Length > _messages.Length)
        {
            if (_messageBytes + body.Length > MaxMessageLength + 4)
            {
                GiveUp();
                return;
            }
            Array.Resize(ref _messages, Math.Max(_messages.Length * 2, _messageBytes + body.Length));
        }
        body.CopyTo(_messages.AsSpan(_messageBytes));
        _messageBytes += body.Length;
        ReadMessages();
    }

    private void ReadMessages()
    {
        while (_phase != Phase.Done && _messageBytes >= 4)
        {
            var type = _messages[0];
            var length = (_messages[1] << 16) | (_messages[2] << 8) | _messages[3];
            if (_phase == Phase.AfterTls12ServerHello && type != NewSessionTicketType)
            {
                Decide(resumed: false); // Certificate, ServerKeyExchange, ServerHelloDone...: a full handshake
                return;
            }
            if (length > MaxMessageLength || (_phase == Phase.AwaitServerHello && type != ServerHelloType))
            {
                GiveUp();
                return;
            }
            if (_messageBytes < 4 + length) return;
            if (type == ServerHelloType) OnServerHello(_messages.AsSpan(4, length));
            if (_phase == Phase.Done) return;
            _messages.AsSpan(4 + length, _messageBytes - 4 - length).CopyTo(_messages);
            _messageBytes -= 4 + length;
        }
    }

    private void OnServerHello(ReadOnlySpan<byte> body)
    {
        switch (ServerHello.Read(body))
        {
            case ServerHello.Kind.HelloRetryRequest:
                break;
            case ServerHello.Kind.Tls13Full:
                Decide(resumed: false);
                break;
            case ServerHello.Kind.Tls13Resumed:
                Decide(resumed: true);
                break;
            case ServerHello.Kind.Tls12:
                _phase = Phase.AfterTls12ServerHello;
                break;
            case ServerHello.Kind.Malformed:
                GiveUp();
                break;
            default:
                throw new InvalidOperationException("unknown ServerHello kind");
        }
    }

    private void Decide(bool resumed)
    {
        Resumed = resumed;
        _phase = Phase.Done;
        _messages = [];
    }

    private void GiveUp()
    {
        _phase = Phase.Done;
        _messages = [];
    }

    /// <summary>The fields of a ServerHello body that matter here (RFC 8446 4.1.3, RFC 5246 7.4.1.3).</summary>
    private static class ServerHello
    {
        public enum Kind { Tls12, Tls13Full, Tls13Resumed, HelloRetryRequest, Malformed }

        public static Kind Read(ReadOnlySpan<byte> body)
        {
            const int RandomAt = 2, SessionIdAt = RandomAt + 32;
            if (body.Length < SessionIdAt + 1) return Kind.Malformed;
            var retry = body.Slice(RandomAt, 32).SequenceEqual(HelloRetryRandom);
            var at = SessionIdAt + 1 + body[SessionIdAt] + 2 + 1; // session id, cipher suite, compression method
            if (at == body.Length) return Kind.Tls12; // no extensions at all
            if (at + 2 > body.Length) return Kind.Malformed;
            var extensions = body[(at + 2)..];
            if (BinaryPrimitives.ReadUInt16BigEndian(body[at..]) != extensions.Length) return Kind.Malformed;
            var (tls13, psk, wellFormed) = ReadExtensions(extensions);
            return !wellFormed ? Kind.Malformed
                : retry ? Kind.HelloRetryRequest
                : !tls13 ? Kind.Tls12
                : psk ? Kind.Tls13Resumed
                : Kind.Tls13Full;
        }

        private static (bool Tls13, bool Psk, bool WellFormed) ReadExtensions(ReadOnlySpan<byte> extensions)
        {
            bool tls13 = false, psk = false;
            while (!extensions.IsEmpty)
            {
                if (extensions.Length < 4) return (tls13, psk, false);
                var type = BinaryPrimitives.ReadUInt16BigEndian(extensions);
                var length = BinaryPrimitives.ReadUInt16BigEndian(extensions[2..]);
                if (extensions.Length < 4 + length) return (tls13, psk, false);
                var data = extensions.Slice(4, length);
                if (type == SupportedVersions) tls13 = data.Length == 2 && BinaryPrimitives.ReadUInt16BigEndian(data) == Tls13;
                if (type == PreSharedKey) psk = true;
                extensions = extensions[(4 + length)..];
            }
            return (tls13, psk, true);
        }
    }
}
