using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;

namespace ScriptFtp;

/// <summary>
/// IP addresses as people and policies know them. A dual-stack socket reports an IPv4 peer as <c>::ffff:a.b.c.d</c>;
/// logs, the login guard, connection limits, the bounce check and replies all mean the IPv4 address.
/// Shared as source by the server and the client (Client.csproj links this file).
/// </summary>
internal static class Addresses
{
    /// <summary>An IPv4-mapped IPv6 address as plain IPv4; any other address as it is.</summary>
    public static IPAddress Normalize(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
    }

    /// <summary>
    /// Parses a full IP address as a person writes one: a dotted quad or an IPv6 address. Unlike
    /// <see cref="IPAddress.TryParse(string?, out IPAddress?)"/> it refuses the shorthands <c>127.1</c> and <c>10</c>,
    /// which nobody means. The address is returned as written (not normalised).
    /// </summary>
    public static bool TryParse(string text, [NotNullWhen(true)] out IPAddress? address) =>
        IPAddress.TryParse(text, out address)
        && (address.AddressFamily == AddressFamily.InterNetworkV6 ? text.Contains(':') : text.Count(c => c == '.') == 3);
}
