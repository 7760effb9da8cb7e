namespace ScriptFtp.Tests.Users;

public class PasswordsTests
{
    [Test]
    public void Hash_has_the_documented_format_and_verifies()
    {
        var stored = Passwords.Hash("s3cret pässword");
        var parts = stored.Split('$');
        parts.Length.ShouldBe(4);
        parts[0].ShouldBe("pbkdf2-sha256");
        parts[1].ShouldBe("100000");
        Convert.FromBase64String(parts[2]).Length.ShouldBe(16);
        Convert.FromBase64String(parts[3]).Length.ShouldBe(32);
        Passwords.IsPlainText(stored).ShouldBeFalse();
        Passwords.IsWellFormedHash(stored).ShouldBeTrue();
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
    public void Plain_text_stored_password_is_accepted()
    {
        Passwords.IsPlainText("hunter2").ShouldBeTrue();
        Passwords.Verify("hunter2", "hunter2").ShouldBeTrue();
        Passwords.Verify("hunter2", "hunter3").ShouldBeFalse();
        Passwords.Verify("hunter2", "hunter22").ShouldBeFalse();
    }

    [TestCase("pbkdf2-sha256$abc$AAAA$AAAA")]
    [TestCase("pbkdf2-sha256$0$AAAA$AAAA")]
    [TestCase("pbkdf2-sha256$1000$not base64!$AAAA")]
    [TestCase("pbkdf2-sha256$1000$AAAA")]
    [TestCase("pbkdf2-sha256$1000$$AAAA")]
    public void Malformed_hash_never_verifies(string stored)
    {
        Passwords.IsPlainText(stored).ShouldBeFalse();
        Passwords.IsWellFormedHash(stored).ShouldBeFalse();
        Passwords.Verify(stored, stored).ShouldBeFalse();
        Passwords.Verify(stored, "").ShouldBeFalse();
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
