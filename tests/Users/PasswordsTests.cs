using System.Diagnostics;
using ScriptFtp.Tests.Support;

namespace ScriptFtp.Tests.Users;

public class PasswordsTests
{
    // Made by the Argon2 reference implementation (the argon2 command-line tool of Debian's argon2 package, 0~20171227),
    // e.g. `echo -n password | argon2 somesalt -id -t 2 -m 16 -p 1 -l 32 -e`: another tool's hashes must verify here.
    [TestCase("password", "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc")]
    [TestCase("correct horse", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0MTZieQ$rXYf9AKjT3p2MM0CdD0LSmRFe91Rkvlw+ySyFsU6Gxc")]
    [TestCase("pässword ✓", "$argon2id$v=19$m=100,t=3,p=3$OGJ5dGVzISE$XdAAJurcB5ptxi+GDV6aQFn+hEQ")]
    [TestCase("demo", "$argon2id$v=19$m=65536,t=1,p=4$c29tZXNhbHQ$"
                      + "Qlhd2FEDGbH7KiI9qvUy89vkLs3UbyNSX5aRu66th1mjyae6X2Gf8CHLb0de1fUOukPpeKZolyGCeSBBrkqk7g")]
    public void Hashes_of_the_reference_implementation_verify(string password, string stored)
    {
        Passwords.IsPlainText(stored).ShouldBeFalse();
        Passwords.IsWellFormedHash(stored).ShouldBeTrue();
        Passwords.Verify(stored, password).ShouldBeTrue();
        Passwords.Verify(stored, password + "x").ShouldBeFalse();
    }

    [Test]
    public void Hash_is_argon2id_in_the_PHC_format_with_the_current_parameters_and_verifies()
    {
        var stored = Passwords.Hash("s3cret pässword");
        stored.ShouldMatch(@"^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$");
        var parts = stored.Split('$');
        Convert.FromBase64String(parts[4] + "==").Length.ShouldBe(16);
        Convert.FromBase64String(parts[5] + "=").Length.ShouldBe(32);
        Passwords.IsPlainText(stored).ShouldBeFalse();
        Passwords.IsWellFormedHash(stored).ShouldBeTrue();
        Passwords.NeedsRehash(stored).ShouldBeFalse();
        Passwords.Verify(stored, "s3cret pässword").ShouldBeTrue();
    }

    [Test]
    public void Wrong_password_is_rejected()
    {
        var stored = Passwords.Hash("right");
        Passwords.Verify(stored, "wrong").ShouldBeFalse();
        Passwords.Verify(stored, "").ShouldBeFalse();
        Passwords.Verify(stored, "right ").ShouldBeFalse();
    }

    [Test]
    public void Same_password_gets_a_fresh_salt()
    {
        Passwords.Hash("x").ShouldNotBe(Passwords.Hash("x"));
    }

    [Test]
    public void The_dummy_hash_for_unknown_users_costs_what_a_current_hash_costs()
    {
        Passwords.DummyHash.ShouldStartWith("$argon2id$v=19$m=19456,t=2,p=1$");
        Passwords.NeedsRehash(Passwords.DummyHash).ShouldBeFalse();
    }

    [Test]
    public void Plain_text_stored_password_is_accepted_and_needs_a_rehash()
    {
        Passwords.IsPlainText("hunter2").ShouldBeTrue();
        Passwords.NeedsRehash("hunter2").ShouldBeTrue();
        Passwords.Verify("hunter2", "hunter2").ShouldBeTrue();
        Passwords.Verify("hunter2", "hunter3").ShouldBeFalse();
        Passwords.Verify("hunter2", "hunter22").ShouldBeFalse();
    }

    // The hashes earlier versions wrote (this one is the demo user's of the shipped users.toml, password "demo").
    [Test]
    public void An_old_PBKDF2_hash_still_verifies_and_needs_a_rehash()
    {
        const string old = "pbkdf2-sha256$100000$Ffg9d+TyKYLMRjNZSya/Vg==$1+QbviDwYTLZbgzgw4uKoQFjfny8QEG+Zo/znnIL0KA=";
        Passwords.IsPlainText(old).ShouldBeFalse();
        Passwords.IsWellFormedHash(old).ShouldBeTrue();
        Passwords.NeedsRehash(old).ShouldBeTrue();
        Passwords.Verify(old, "demo").ShouldBeTrue();
        Passwords.Verify(old, "demo ").ShouldBeFalse();
    }

    [TestCase("$argon2id$v=19$m=16384,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", true)]  // less memory
    [TestCase("$argon2id$v=19$m=65536,t=1,p=4$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", true)]  // one pass
    [TestCase("$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", false)] // stronger: kept
    [TestCase("$argon2id$v=19$m=19456,t=3,p=2$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", false)]
    public void Argon2id_below_the_current_cost_needs_a_rehash(string stored, bool needed)
    {
        Passwords.IsWellFormedHash(stored).ShouldBeTrue();
        Passwords.NeedsRehash(stored).ShouldBe(needed);
    }

    private const string Salt = "c29tZXNhbHQ", Tag = "CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";

    [TestCase("pbkdf2-sha256$abc$AAAA$AAAA")]
    [TestCase("pbkdf2-sha256$0$AAAA$AAAA")]
    [TestCase("pbkdf2-sha256$1000$not base64!$AAAA")]
    [TestCase("pbkdf2-sha256$1000$AAAA")]
    [TestCase("pbkdf2-sha256$1000$$AAAA")]
    [TestCase("$argon2id$v=19$m=19456,t=2,p=1$" + Salt + "$" + Tag + "$")]
    [TestCase("$argon2id$v=19$m=19456,t=2,p=1$" + Salt)]
    [TestCase("$argon2id$v=19$m=19456,t=2,p=1$$" + Tag)]
    [TestCase("$argon2id$v=16$m=19456,t=2,p=1$" + Salt + "$" + Tag)]                 // Argon2 1.0 is not read
    [TestCase("$argon2id$m=19456,t=2,p=1$" + Salt + "$" + Tag)]
    [TestCase("$argon2i$v=19$m=19456,t=2,p=1$" + Salt + "$" + Tag)]                  // another variant
    [TestCase("$argon2d$v=19$m=19456,t=2,p=1$" + Salt + "$" + Tag)]
    [TestCase("$argon2id$v=19$t=2,m=19456,p=1$" + Salt + "$" + Tag)]                 // order
    [TestCase("$argon2id$v=19$m=19456,t=2$" + Salt + "$" + Tag)]
    [TestCase("$argon2id$v=19$m=19456,t=2,p=1,keyid=abc$" + Salt + "$" + Tag)]
    [TestCase("$argon2id$v=19$m=019456,t=2,p=1$" + Salt + "$" + Tag)]                // not canonical
    [TestCase("$argon2id$v=19$m=+19456,t=2,p=1$" + Salt + "$" + Tag)]
    [TestCase("$argon2id$v=19$m= 19456,t=2,p=1$" + Salt + "$" + Tag)]
    [TestCase("$argon2id$v=19$m=19456,t=0,p=1$" + Salt + "$" + Tag)]
    [TestCase("$argon2id$v=19$m=19456,t=2,p=0$" + Salt + "$" + Tag)]
    [TestCase("$argon2id$v=19$m=15,t=2,p=2$" + Salt + "$" + Tag)]                    // under 8 KiB per lane
    [TestCase("$argon2id$v=19$m=65537,t=2,p=1$" + Salt + "$" + Tag)]                 // over the bounds
    [TestCase("$argon2id$v=19$m=19456,t=9,p=1$" + Salt + "$" + Tag)]
    [TestCase("$argon2id$v=19$m=19456,t=2,p=17$" + Salt + "$" + Tag)]
    [TestCase("$argon2id$v=19$m=4194304,t=2,p=1$" + Salt + "$" + Tag)]
    [TestCase("$argon2id$v=19$m=99999999999,t=2,p=1$" + Salt + "$" + Tag)]
    [TestCase("$argon2id$v=19$m=19456,t=4294967295,p=1$" + Salt + "$" + Tag)]
    [TestCase("$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ=$" + Tag)]                 // padded
    [TestCase("$argon2id$v=19$m=19456,t=2,p=1$c29t ZXNhbHQ$" + Tag)]                 // whitespace
    [TestCase("$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHR$" + Tag)]                  // stray low bits
    [TestCase("$argon2id$v=19$m=19456,t=2,p=1$c29tZXNh$" + Tag)]                     // salt under 8 bytes
    [TestCase("$argon2id$v=19$m=19456,t=2,p=1$" + Salt + "$CTFhFdXPJO1aFaMaO6Mm5c")]  // hash under 16 bytes
    [TestCase("$argon2id$v=19$m=19456,t=2,p=1$" + Salt + "$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc-")]
    public void Malformed_hash_never_verifies_and_costs_no_hashing(string stored)
    {
        var watch = Stopwatch.StartNew();
        Passwords.IsPlainText(stored).ShouldBeFalse();
        Passwords.IsWellFormedHash(stored).ShouldBeFalse();
        Passwords.Verify(stored, stored).ShouldBeFalse();
        Passwords.Verify(stored, "").ShouldBeFalse();
        Passwords.Verify(stored, "password").ShouldBeFalse();
        watch.Elapsed.ShouldBeLessThan(TimeSpan.FromMilliseconds(500), "a refused hash is not computed");
    }

    [Test]
    public void The_shipped_users_file_holds_current_hashes_of_the_passwords_the_README_gives()
    {
        var users = (ScriptFtp.Toml.TomlTable)ScriptFtp.Toml.Toml.ParseFile(Repo.File("users.toml"))["users"];
        foreach (var name in new[] { "demo", "admin" })
        {
            var hash = (string)((ScriptFtp.Toml.TomlTable)users[name])["password"];
            Passwords.NeedsRehash(hash).ShouldBeFalse(name);
            Passwords.Verify(hash, name).ShouldBeTrue(name);
        }
    }

    [Test]
    public void The_costliest_accepted_hash_is_at_the_bounds()
    {
        Passwords.IsWellFormedHash("$argon2id$v=19$m=65536,t=8,p=16$" + Salt + "$" + Tag).ShouldBeTrue();
        Passwords.IsWellFormedHash("$argon2id$v=19$m=8,t=1,p=1$" + Salt + "$" + Tag).ShouldBeTrue();
        Passwords.Bounds.ShouldContain("m <= 65536, t <= 8, p <= 16");
    }

    [TestCase("a", true)]
    [TestCase("demo", true)]
    [TestCase("John.Doe_99-x", true)]
    [TestCase("_under", true)]
    [TestCase("12345678901234567890123456789012", true)]
    [TestCase("123456789012345678901234567890123", false)]
    [TestCase("", false)]
    [TestCase(".hidden", false)]
    [TestCase("-dash", false)]
    [TestCase("a b", false)]
    [TestCase("a/b", false)]
    [TestCase("..", false)]
    [TestCase("a\"b", false)]
    [TestCase("ümlaut", false)]
    [TestCase("a\r\nb", false)]
    public void User_name_rule(string name, bool valid)
    {
        UserNames.IsValid(name).ShouldBe(valid);
    }
}
