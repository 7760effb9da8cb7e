namespace ScriptFtp.Tests; public class Smoke { [Test] public void Builds() => 1.ShouldBe(1); }
