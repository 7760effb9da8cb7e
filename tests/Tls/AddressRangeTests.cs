using System.Net;
using ScriptFtp.Security;

namespace ScriptFtp.Tests.Tls;

public class AddressRangeTests
{
    [TestCase("127.0.0.0/8", "127.0.0.0/8")]
    [TestCase("::1/128", "::1/128")]
    [TestCase("0.0.0.0/0", "0.0.0.0/0")]
    [TestCase("::/0", "::/0")]
    [TestCase("10.1.2.3", "10.1.2.3/32")]
    [TestCase("fe80::1", "fe80::1/128")]
    [TestCase("10.1.2.3/8", "10.0.0.0/8")]
    [TestCase("192.168.1.77/24", "192.168.1.0/24")]
    [TestCase("172.16.0.0/12", "172.16.0.0/12")]
    [TestCase("10.255.255.255/9", "10.128.0.0/9")]
    [TestCase("2001:db8::1/32", "2001:db8::/32")]
    [TestCase("::ffff:10.0.0.0/104", "10.0.0.0/8")]
    [TestCase("::ffff:10.1.2.3", "10.1.2.3/32")]
    [TestCase("  127.0.0.1/32 ", "127.0.0.1/32")]
    public void Parses_and_normalises(string text, string expected) => AddressRange.Parse(text).ToString().ShouldBe(expected);

    [TestCase("", "", null)]
    [TestCase("localhost", "localhost", null)]
    [TestCase("127.1", "127.1", null)]
    [TestCase("10", "10", null)]
    [TestCase("300.0.0.1/8", "300.0.0.1", null)]
    [TestCase("10.0.0.0/33", null, "IPv4")]
    [TestCase("::/129", null, "IPv6")]
    [TestCase("10.0.0.0/", null, "IPv4")]
    [TestCase("10.0.0.0/-1", null, "IPv4")]
    [TestCase("10.0.0.0/+8", null, "IPv4")]
    [TestCase("10.0.0.0/8/8", null, "IPv4")]
    [TestCase("10.0.0.0/255.0.0.0", null, "IPv4")]
    public void Refuses_with_a_reason(string text, string? badAddress, string? family)
    {
        var error = badAddress is not null
            ? $"\"{text}\" is not an address range: \"{badAddress}\" is not an IP address (expected e.g. 192.168.1.0/24 or ::1/128)"
            : $"\"{text}\" is not an address range: the prefix length after '/' must be a whole number from 0 to " +
              $"{(family == "IPv4" ? 32 : 128)} for an {family} address";
        Should.Throw<FormatException>(() => AddressRange.Parse(text)).Message.ShouldBe(error);
        AddressRange.TryParse(text, out var range, out var reason).ShouldBeFalse();
        (range, reason).ShouldBe((null, error));
    }

    [TestCase("127.0.0.0/8", "127.0.0.1", true)]
    [TestCase("127.0.0.0/8", "127.255.255.255", true)]
    [TestCase("127.0.0.0/8", "128.0.0.1", false)]
    [TestCase("127.0.0.1/32", "127.0.0.2", false)]
    [TestCase("127.0.0.0/8", "::ffff:127.0.0.2", true)]
    [TestCase("127.0.0.0/8", "::1", false)]
    [TestCase("::1/128", "::1", true)]
    [TestCase("::1/128", "127.0.0.1", false)]
    [TestCase("0.0.0.0/0", "203.0.113.9", true)]
    [TestCase("0.0.0.0/0", "::ffff:203.0.113.9", true)]
    [TestCase("0.0.0.0/0", "2001:db8::1", false)]
    [TestCase("::/0", "2001:db8::1", true)]
    [TestCase("::/0", "203.0.113.9", false)]
    [TestCase("::/0", "::ffff:203.0.113.9", false)]
    [TestCase("10.128.0.0/9", "10.127.255.255", false)]
    [TestCase("10.128.0.0/9", "10.128.0.0", true)]
    [TestCase("2001:db8::/32", "2001:db8:ffff::1", true)]
    [TestCase("2001:db8::/32", "2001:db9::1", false)]
    [TestCase("::ffff:10.0.0.0/104", "10.9.9.9", true)]
    [TestCase("fe80::/10", "fe80::1%2", true)]
    public void Contains(string range, string address, bool expected) =>
        AddressRange.Parse(range).Contains(IPAddress.Parse(address)).ShouldBe(expected);

    [Test]
    public void Equal_ranges_hold_the_same_addresses()
    {
        AddressRange.Parse("10.1.2.3/8").ShouldBe(AddressRange.Parse("10.0.0.0/8"));
        AddressRange.Parse("10.0.0.0/8").GetHashCode().ShouldBe(AddressRange.Parse("10.9.0.0/8").GetHashCode());
        AddressRange.Parse("10.0.0.0/8").ShouldNotBe(AddressRange.Parse("10.0.0.0/9"));
        AddressRange.Parse("::ffff:127.0.0.1").ShouldBe(AddressRange.Parse("127.0.0.1"));
    }

    [Test]
    public void Shipped_plain_list_is_loopback_only()
    {
        AddressRange[] loopback = [AddressRange.Parse("127.0.0.0/8"), AddressRange.Parse("::1/128")];
        AddressRange.AnyContains(loopback, IPAddress.Parse("127.0.0.2")).ShouldBeTrue();
        AddressRange.AnyContains(loopback, IPAddress.IPv6Loopback).ShouldBeTrue();
        AddressRange.AnyContains(loopback, IPAddress.Parse("::ffff:127.0.0.1")).ShouldBeTrue();
        AddressRange.AnyContains(loopback, IPAddress.Parse("192.168.1.2")).ShouldBeFalse();
        AddressRange.AnyContains([], IPAddress.Loopback).ShouldBeFalse();
        loopback[0].Family.ShouldBe(System.Net.Sockets.AddressFamily.InterNetwork);
        loopback[0].Network.ShouldBe(IPAddress.Parse("127.0.0.0"));
        loopback[1].PrefixLength.ShouldBe(128);
    }
}
