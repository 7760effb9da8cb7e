using ScriptFtp.Tls;

namespace ScriptFtp.Tests.Tls;

/// <summary>The handshake-flight parser on hand-made server flights, fed whole and in every kind of slice.</summary>
public class ServerFlightParserTests
{
    private const byte ChangeCipherSpec = 20, Alert = 21, Handshake = 22, ApplicationData = 23;
    private const byte ClientHello = 1, ServerHello = 2, NewSessionTicket = 4, Certificate = 11, ServerKeyExchange = 12,
        ServerHelloDone = 14;

    private static readonly byte[] RetryRandom = Convert.FromHexString("CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C");

    private static byte[] Record(byte type, params byte[][] fragments)
    {
        var body = fragments.SelectMany(f => f).ToArray();
        return [type, 3, 3, (byte)(body.Length >> 8), (byte)body.Length, .. body];
    }

    private static byte[] Message(byte type, byte[] body) =>
        [type, (byte)(body.Length >> 16), (byte)(body.Length >> 8), (byte)body.Length, .. body];

    private static byte[] Extension(ushort type, params byte[] data) => [(byte)(type >> 8), (byte)type, 0, (byte)data.Length, .. data];

    private static byte[] Hello(bool tls13, bool psk = false, bool retry = false, bool noExtensions = false)
    {
        var random = retry ? RetryRandom : Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
        byte[] fixedPart = [3, 3, .. random, 32, .. new byte[32], 0x13, 0x01, 0];
        if (noExtensions) return Message(ServerHello, fixedPart);
        byte[] extensions =
        [
            .. Extension(0xff01, 0),
            .. tls13 ? Extension(0x002b, 3, 4) : [],
            .. tls13 && !retry ? Extension(0x0033, [0, 0x1d, 0, 4, 1, 2, 3, 4]) : [],
            .. psk ? Extension(0x0029, 0, 0) : [],
        ];
        return Message(ServerHello, [.. fixedPart, (byte)(extensions.Length >> 8), (byte)extensions.Length, .. extensions]);
    }

    private static byte[] Body(byte type, int length) => Message(type, new byte[length]);

    private static readonly byte[] Encrypted = Record(ApplicationData, new byte[300]);
    private static readonly byte[] Ccs = Record(ChangeCipherSpec, [1]);

    /// <summary>Server flights and what the parser must make of them.</summary>
    public static IEnumerable<TestCaseData> Flights()
    {
        yield return Case("TLS 1.3 full", false, Record(Handshake, Hello(true)), Ccs, Encrypted);
        yield return Case("TLS 1.3 resumed", true, Record(Handshake, Hello(true, psk: true)), Ccs, Encrypted);
        yield return Case("TLS 1.3 HelloRetryRequest, then full", false,
            Record(Handshake, Hello(true, retry: true)), Ccs, Record(Handshake, Hello(true)), Encrypted);
        yield return Case("TLS 1.3 HelloRetryRequest, then resumed", true,
            Record(Handshake, Hello(true, retry: true)), Ccs, Record(Handshake, Hello(true, psk: true)), Encrypted);
        yield return Case("TLS 1.3 HelloRetryRequest alone", null, Record(Handshake, Hello(true, retry: true)), Ccs);
        yield return Case("TLS 1.2 full", false,
            Record(Handshake, Hello(false)), Record(Handshake, Body(Certificate, 700)), Record(Handshake, Body(ServerKeyExchange, 100)),
            Record(Handshake, Body(ServerHelloDone, 0)));
        yield return Case("TLS 1.2 full, one record", false,
            Record(Handshake, Hello(false), Body(Certificate, 700), Body(ServerKeyExchange, 100), Body(ServerHelloDone, 0)));
        yield return Case("TLS 1.2 full, anonymous key exchange", false, Record(Handshake, Hello(false), Body(ServerKeyExchange, 70)));
        yield return Case("TLS 1.2 without extensions, full", false,
            Record(Handshake, Hello(false, noExtensions: true)), Record(Handshake, Body(Certificate, 400)));
        yield return Case("TLS 1.2 resumed", true, Record(Handshake, Hello(false)), Ccs, Record(Handshake, new byte[40]));
        yield return Case("TLS 1.2 resumed, new ticket", true,
            Record(Handshake, Hello(false)), Record(Handshake, Body(NewSessionTicket, 190)), Ccs, Record(Handshake, new byte[40]));
        yield return Case("TLS 1.2 resumed, hello and ticket in one record", true,
            Record(Handshake, Hello(false), Body(NewSessionTicket, 190)), Ccs);
        yield return Case("ServerHello split over two records", true, Split(Hello(true, psk: true), 30));
        yield return Case("a client's flight", null, Record(Handshake, Body(ClientHello, 200)));
        yield return Case("an alert first", null, Record(Alert, [2, 40]), Record(Handshake, Hello(true, psk: true)));
        yield return Case("application data first", null, Encrypted, Record(Handshake, Hello(true, psk: true)));
        yield return Case("a record longer than TLS allows", null, [Handshake, 3, 3, 0xff, 0xff, .. Hello(true)]);
        const int ExtensionsLength = 2 + 32 + 1 + 32 + 3;
        var longExtensions = Corrupt(Hello(true, psk: true), ExtensionsLength, 0x7f);
        yield return Case("extensions longer than the hello", null, Record(Handshake, longExtensions));
        yield return Case("a hello too short for its random", null, Record(Handshake, Message(ServerHello, [3, 3, 1, 2, 3])));
        yield return Case("an extension longer than the list", null,
            Record(Handshake, Message(ServerHello, [3, 3, .. new byte[32], 0, 0x13, 1, 0, 0, 4, 0, 0x29, 0, 9])));
        yield return Case("a handshake message claiming 16 MiB", null, Record(Handshake, [ServerHello, 0xff, 0xff, 0xff, 0]));
    }

    private static TestCaseData Case(string name, bool? resumed, params byte[][] records) =>
        new TestCaseData(records.SelectMany(r => r).ToArray(), resumed) { TestName = $"{{m}}({name})" };

    private static byte[][] Split(byte[] message, int at) => [Record(Handshake, message[..at]), Record(Handshake, message[at..])];

    private static byte[] Corrupt(byte[] message, int offset, byte value)
    {
        var copy = (byte[])message.Clone();
        copy[4 + offset] = value;
        return copy;
    }

    [TestCaseSource(nameof(Flights))]
    public void Decides_from_the_whole_flight(byte[] flight, bool? resumed)
    {
        var parser = new ServerFlightParser();
        parser.Feed(flight);
        parser.Resumed.ShouldBe(resumed);
    }

    [TestCaseSource(nameof(Flights))]
    public void Decides_the_same_in_any_slices(byte[] flight, bool? resumed)
    {
        foreach (var size in new[] { 1, 2, 3, 4, 5, 6, 7, 13, 64 })
        {
            var parser = new ServerFlightParser();
            foreach (var slice in flight.Chunk(size)) parser.Feed(slice);
            parser.Resumed.ShouldBe(resumed, $"fed {size} bytes at a time");
        }
    }

    [Test]
    public void Is_done_once_decided_and_ignores_what_follows()
    {
        var parser = new ServerFlightParser();
        parser.Feed(Record(Handshake, Hello(true, psk: true)));
        parser.Done.ShouldBeTrue();
        parser.Feed(Record(Handshake, Hello(true)));
        parser.Resumed.ShouldBe(true);
    }

    [Test]
    public void Is_undecided_until_the_message_is_complete()
    {
        var parser = new ServerFlightParser();
        var flight = Record(Handshake, Hello(true, psk: true));
        parser.Feed(flight.AsSpan(0, flight.Length - 1));
        parser.Resumed.ShouldBeNull();
        parser.Done.ShouldBeFalse();
        parser.Feed(flight.AsSpan(flight.Length - 1));
        parser.Resumed.ShouldBe(true);
    }

    [Test]
    public void Never_throws_on_random_or_damaged_input([Range(0, 199)] int seed)
    {
        var random = new Random(seed);
        var flights = Flights().Select(c => (byte[])c.Arguments[0]!).ToArray();
        var input = seed % 2 == 0 ? RandomBytes(random) : Damaged(flights[random.Next(flights.Length)], random);
        var parser = new ServerFlightParser();
        foreach (var slice in input.Chunk(random.Next(1, 40))) Should.NotThrow(() => parser.Feed(slice));
    }

    private static byte[] RandomBytes(Random random)
    {
        var bytes = new byte[random.Next(0, 3000)];
        random.NextBytes(bytes);
        if (bytes.Length > 0) bytes[0] = (byte)random.Next(20, 24);
        return bytes;
    }

    private static byte[] Damaged(byte[] flight, Random random)
    {
        var copy = (byte[])flight.Clone();
        for (var i = 0; i < 1 + random.Next(6); i++) copy[random.Next(copy.Length)] = (byte)random.Next(256);
        return copy;
    }
}
