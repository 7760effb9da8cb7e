namespace ScriptFtp.Client; public static class Program { public static int Main(string[] a) => 0; }
