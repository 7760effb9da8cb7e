using System.Net;
using ScriptFtp.Security;
using ScriptFtp.Tests.Support;

namespace ScriptFtp.Tests.Security;

/// <summary>Attacks from loopback that the server does not trust: only 127.0.0.1 is trusted, 127.0.0.2 and up are counted.</summary>
internal static class Untrusted
{
    /// <summary>The attacker's address.</summary>
    public static readonly IPAddress Attacker = IPAddress.Parse("127.0.0.2");

    /// <summary>A server that trusts 127.0.0.1 only, configured further by <paramref name="configure"/>.</summary>
    public static Task<TestServer> StartAsync(Func<ServerConfig, ServerConfig> configure) =>
        TestServer.StartAsync(config => configure(config with { TrustedNetworks = [AddressRange.Parse("127.0.0.1/32")] }));
}
