using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;

namespace ScriptFtp.Security;

/// <summary>
/// A block of IP addresses in CIDR notation: <c>127.0.0.0/8</c>, <c>::1/128</c>, <c>0.0.0.0/0</c>; a bare address is a
/// block of one (/32 or /128). Host bits below the prefix are cleared (<c>10.1.2.3/8</c> is <c>10.0.0.0/8</c>).
/// IPv4 and IPv6 are separate: <c>::/0</c> holds every IPv6 address and no IPv4 one. An IPv4-mapped IPv6 address
/// (<c>::ffff:10.0.0.1</c>, as a dual-stack listener reports IPv4 clients) counts as the IPv4 address, in a range and
/// when checked.
/// </summary>
internal sealed record AddressRange
{
    private const int MappedPrefix = 96;

    private readonly byte[] _network;

    private AddressRange(byte[] network, int prefixLength)
    {
        _network = network;
        PrefixLength = prefixLength;
    }

    /// <summary>The first address of the block.</summary>
    public IPAddress Network => new(_network);

    /// <summary>How many leading bits every address of the block shares with <see cref="Network"/>.</summary>
    public int PrefixLength { get; }

    /// <summary>IPv4 or IPv6.</summary>
    public AddressFamily Family => _network.Length == 4 ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6;

    /// <summary>Parses CIDR notation or a bare address.</summary>
    /// <exception cref="FormatException">The text is no address range; the message says why.</exception>
    public static AddressRange Parse(string text) =>
        TryParse(text, out var range, out var error) ? range : throw new FormatException(error);

    /// <summary>Parses CIDR notation or a bare address; on failure <paramref name="error"/> says why.</summary>
    public static bool TryParse(string text, [NotNullWhen(true)] out AddressRange? range, [NotNullWhen(false)] out string? error)
    {
        range = null;
        text = text.Trim();
        var slash = text.IndexOf('/');
        var addressText = slash < 0 ? text : text[..slash];
        if (!Addresses.TryParse(addressText, out var address))
        {
            error = $"\"{text}\" is not an address range: \"{addressText}\" is not an IP address (expected e.g. 192.168.1.0/24 or ::1/128)";
            return false;
        }
        var bytes = address.GetAddressBytes();
        var prefix = bytes.Length * 8;
        if (slash >= 0 && !TryParsePrefix(text[(slash + 1)..], bytes.Length * 8, out prefix))
        {
            error = $"\"{text}\" is not an address range: the prefix length after '/' must be a whole number " +
                    $"from 0 to {bytes.Length * 8} for an {(bytes.Length == 4 ? "IPv4" : "IPv6")} address";
            return false;
        }
        if (address.IsIPv4MappedToIPv6 && prefix >= MappedPrefix)
            (bytes, prefix) = (address.MapToIPv4().GetAddressBytes(), prefix - MappedPrefix);
        range = new AddressRange(Masked(bytes, prefix), prefix);
        error = null;
        return true;
    }

    /// <summary>Whether the address lies in this block.</summary>
    public bool Contains(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        var bytes = address.GetAddressBytes();
        return bytes.Length == _network.Length && Masked(bytes, PrefixLength).AsSpan().SequenceEqual(_network);
    }

    /// <summary>Whether any of the blocks holds the address.</summary>
    public static bool AnyContains(IEnumerable<AddressRange> ranges, IPAddress address) => ranges.Any(r => r.Contains(address));

    /// <summary>Two ranges are equal when they hold the same addresses.</summary>
    public bool Equals(AddressRange? other) =>
        other is not null && PrefixLength == other.PrefixLength && _network.AsSpan().SequenceEqual(other._network);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Network, PrefixLength);

    /// <summary>CIDR notation, e.g. <c>127.0.0.0/8</c>.</summary>
    public override string ToString() => $"{Network}/{PrefixLength}";

    private static bool TryParsePrefix(string text, int bits, out int prefix)
    {
        prefix = -1;
        return text.Length is > 0 and <= 3 && text.All(char.IsAsciiDigit) && int.TryParse(text, out prefix) && prefix <= bits;
    }

    private static byte[] Masked(byte[] bytes, int prefix)
    {
        var masked = (byte[])bytes.Clone();
        for (var i = 0; i < masked.Length; i++)
        {
            var keep = Math.Clamp(prefix - i * 8, 0, 8);
            masked[i] &= (byte)(0xFF << (8 - keep));
        }
        return masked;
    }
}
