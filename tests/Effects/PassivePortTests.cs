using System.Net;

namespace ScriptFtp.Tests.Effects;

/// <summary>The passive listener lives exactly as long as the session's data plan names it.</summary>
public class PassivePortTests
{
    [Test]
    public void The_listener_stays_while_the_plan_names_it_and_closes_when_the_plan_moves_on()
    {
        var port = new PassivePort(0, 0);
        var endpoint = port.Open(IPAddress.Loopback);

        port.Follow(new DataPlan.Passive(endpoint));
        port.Endpoint.ShouldBe(endpoint);
        port.Follow(new DataPlan.Active(new IPEndPoint(IPAddress.Loopback, 2000)));
        port.Endpoint.ShouldBeNull();
    }

    [Test]
    public void A_transfer_takes_only_the_listener_its_plan_names()
    {
        var port = new PassivePort(0, 0);
        var first = port.Open(IPAddress.Loopback);
        var second = port.Open(IPAddress.Loopback);

        port.Take(new DataPlan.Passive(first)).ShouldBeNull("opening a new listener closed the first");
        using var taken = port.Take(new DataPlan.Passive(second));
        taken.ShouldNotBeNull();
        ((IPEndPoint)taken.LocalEndPoint!).ShouldBe(second);
        port.Endpoint.ShouldBeNull("the transfer owns it now");
        port.Take(new DataPlan.Passive(second)).ShouldBeNull();
    }

    [Test]
    public void An_ipv4_client_of_a_dual_stack_socket_gets_an_ipv4_listener()
    {
        var port = new PassivePort(0, 0);
        var endpoint = port.Open(IPAddress.Parse("::ffff:127.0.0.1"));
        endpoint.Address.ShouldBe(IPAddress.Loopback);
        port.Close();
        port.Endpoint.ShouldBeNull();
    }
}
