using System.Collections.Immutable;
using System.Net;

namespace ScriptFtp.Tests.Core;

/// <summary>RFC 4217 in the pure core: AUTH, PBSZ, PROT, FEAT and the encryption policy, without sockets.</summary>
public class TlsRulesTests
{
    private static readonly Context Tls =
        new(Protocol.BuiltIns, ServerOptions.Default with { TlsEnabled = true }, DateTimeOffset.UnixEpoch);
    private static readonly Session Fresh =
        new("t", new IPEndPoint(IPAddress.Parse("192.0.2.10"), 40000), new IPEndPoint(IPAddress.Loopback, 21));

    private static (Session Next, ImmutableArray<Reply> Replies) Run(Session session, string line,
        Func<Effect, EffectResult>? answer = null)
    {
        var outcome = Protocol.Dispatch(Tls, session, Request.Parse(line)!);
        while (outcome is Outcome.Perform perform)
            outcome = perform.Then(answer?.Invoke(perform.Effect) ?? throw new InvalidOperationException());
        var respond = (Outcome.Respond)outcome;
        return (respond.Next, respond.Replies);
    }

    private static int Code(Session session, string line) => Run(session, line).Replies.Single().Code;

    [Test]
    public void Auth_tls_and_its_alias_ssl_hand_the_234_to_the_shell_and_secure_the_session()
    {
        foreach (var argument in new[] { "TLS", "SSL", "tls" })
        {
            Effect? asked = null;
            var (next, replies) = Run(Fresh, $"AUTH {argument}", e => { asked = e; return new EffectResult.Done(); });
            asked.ShouldBeOfType<Effect.StartTls>().Ready.Code.ShouldBe(234);
            replies.ShouldBeEmpty();
            next.Secure.ShouldBeTrue();
        }
        Code(Fresh, "AUTH KERBEROS").ShouldBe(504);
        Code(Fresh with { Secure = true }, "AUTH TLS").ShouldBe(503);
    }

    [Test]
    public void A_failed_handshake_closes_the_connection()
    {
        var outcome = Protocol.Dispatch(Tls, Fresh, Request.Parse("AUTH TLS")!);
        var closed = (Outcome.Respond)((Outcome.Perform)outcome).Then(new EffectResult.Failed("bad handshake"));
        closed.Close.ShouldBeTrue();
        closed.Next.Secure.ShouldBeFalse();
    }

    [Test]
    public void Pbsz_and_prot_follow_the_rfc_4217_sequence()
    {
        Code(Fresh, "PBSZ 0").ShouldBe(503);
        var secure = Fresh with { Secure = true };
        Code(secure, "PROT P").ShouldBe(503);
        var (sized, replies) = Run(secure, "PBSZ 0");
        replies.Single().ShouldBe(new Reply(200, "PBSZ=0"));
        Code(sized, "PROT S").ShouldBe(536);
        Code(sized, "PROT E").ShouldBe(536);
        Code(sized, "PROT X").ShouldBe(504);
        Run(sized, "PROT P").Next.ProtectData.ShouldBeTrue();
        Run(sized with { ProtectData = true }, "PROT C").Next.ProtectData.ShouldBeFalse();
    }

    [Test]
    public void Feat_lists_auth_tls_pbsz_and_prot_only_when_tls_is_on()
    {
        var lines = Run(Fresh, "FEAT").Replies.Single().Lines;
        lines.ShouldContain(" AUTH TLS");
        lines.ShouldContain(" PBSZ");
        lines.ShouldContain(" PROT");
        var plain = Protocol.Dispatch(Tls with { Options = ServerOptions.Default }, Fresh, Request.Parse("FEAT")!);
        ((Outcome.Respond)plain).Replies.Single().Lines.ShouldNotContain(" AUTH TLS");
    }

    [Test]
    public void Plain_login_where_tls_is_required_gets_530_before_the_password()
    {
        var required = Fresh with { PlainAllowed = false };
        Run(required, "USER alice").Replies.Single().ShouldBe(Reply.EncryptionRequired);
        Code(required with { Secure = true }, "USER alice").ShouldBe(331);
        Code(Fresh, "USER alice").ShouldBe(331);
    }

    [Test]
    public void A_users_own_tls_rule_overrides_the_address_rule()
    {
        var rules = Tls with
        {
            UserTls = name => name switch
            {
                "camera" => TlsRequirement.Optional,
                "careful" => TlsRequirement.Required,
                _ => TlsRequirement.Server,
            },
        };
        var outside = Fresh with { PlainAllowed = false };
        Protocol.Dispatch(rules, outside, Request.Parse("USER camera")!).ShouldBeOfType<Outcome.Respond>()
            .Replies.Single().Code.ShouldBe(331);
        var refused = (Outcome.Respond)Protocol.Dispatch(rules, Fresh, Request.Parse("USER careful")!);
        refused.Replies.Single().ShouldBe(Reply.EncryptionRequired);
        refused.Next.Login.ShouldBe(Login.None);
        var secured = (Outcome.Respond)Protocol.Dispatch(rules, Fresh with { Secure = true }, Request.Parse("USER careful")!);
        secured.Replies.Single().Code.ShouldBe(331);
        secured.Next.PlainPermitted.ShouldBeFalse("data connections need PROT P for this user even from a plain-allowed address");
        ((Outcome.Respond)Protocol.Dispatch(rules, outside, Request.Parse("USER demo")!)).Replies.Single()
            .ShouldBe(Reply.EncryptionRequired);
    }

    [Test]
    public void Data_commands_without_prot_p_get_521_where_tls_is_required()
    {
        var user = new Login.LoggedIn(new UserView("alice", false, false));
        var passive = new DataPlan.Passive(new IPEndPoint(IPAddress.Loopback, 5000));
        var session = Fresh with { PlainAllowed = false, Secure = true, Login = user, Data = passive };
        foreach (var command in new[] { "RETR a", "STOR a", "LIST" })
            Run(session, command).Replies.Single().ShouldBe(Reply.DataProtectionRequired);
    }
}
