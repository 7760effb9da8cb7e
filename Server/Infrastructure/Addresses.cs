using System.Net;

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
}
