using ScriptFtp.Client;

namespace ScriptFtp.Tests.Client;

// An upload the client gives up on must not look complete to the server.
public class FtpClientUploadTests
{
    [Test]
    public async Task An_upload_whose_local_file_fails_midway_leaves_no_file_on_the_server_and_the_session_goes_on()
    {
        await using var server = await FtpTestServer.StartAsync();
        await using var client = await FtpClient.ConnectAsync(server.Host, server.Port, TimeSpan.FromSeconds(30));
        // Over TLS: the cut-off upload ends with a reset and no close_notify.
        (await client.SecureAsync(ClientTls.Options(server.Host, (_, certificate, _, _) =>
            certificate is not null && CertificateTrust.Fingerprint(certificate) == server.Fingerprint))).Code.ShouldBe(234);
        (await client.LoginAsync(server.UserName, server.Password)).Code.ShouldBe(230);

        await Should.ThrowAsync<IOException>(() => client.UploadAsync(new FailingStream(failAfter: 3 * 1024 * 1024), "half.bin"));

        (await client.PrintWorkingDirectoryAsync()).ShouldBe("/");
        File.Exists(Path.Combine(server.RootDirectory, "half.bin")).ShouldBeFalse("a cut-off upload was stored as complete");
        Directory.GetFiles(server.RootDirectory, "*", SearchOption.AllDirectories).ShouldBeEmpty();
    }

    // Reads as zeros, then fails like a disk read error.
    sealed class FailingStream(long failAfter) : Stream
    {
        long position;

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (position >= failAfter) throw new IOException("simulated read error");
            var n = (int)Math.Min(count, failAfter - position);
            Array.Clear(buffer, offset, n);
            position += n;
            return n;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
