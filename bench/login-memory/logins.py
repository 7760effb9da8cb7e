#!/usr/bin/env python3
"""Peak memory of a real server while 40 logins fail at once (each an Argon2id check of 19 MiB; at most one per core
runs at a time). Starts the built server on a free 127.0.0.1 port with its own temp folder, sends each login from an
address of its own (127.0.0.2 and up, one failure each, so the login guard lets all of them reach the password check),
and prints the server's peak resident memory (VmHWM) before and after. Linux only; loopback only.
    dotnet build ScriptFtp.sln -c Release && python3 bench/login-memory/logins.py [COUNT]"""
import concurrent.futures, os, pathlib, re, shutil, socket, subprocess, sys, tempfile, time

count = int(sys.argv[1]) if len(sys.argv) > 1 else 40
repo = pathlib.Path(__file__).resolve().parents[2]
dll = next((p for p in [repo / "Server/bin/Release/net10.0/ScriptFtp.Server.dll", repo / "Server/bin/Debug/net10.0/ScriptFtp.Server.dll"]
            if p.exists()), None) or sys.exit("build the server first")
folder = pathlib.Path(tempfile.mkdtemp(prefix="scriptftp-logins-"))
hashed = subprocess.run(["dotnet", str(dll), "hash-password"], input="right\n", capture_output=True, text=True, check=True).stdout.strip()
(folder / "users.toml").write_text(f'[users.demo]\npassword = "{hashed}"\n')
(folder / "ftp.toml").write_text('[server]\nlisten = "127.0.0.1"\nport = 0\n[log]\nfile = ""\nlevel = "Warning"\n'
                                 '[plugins]\nfolder = ""\n[security]\nlogin_delay = 0\n')
server = subprocess.Popen(["dotnet", str(dll), "--config", str(folder / "ftp.toml")], cwd=folder,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

def peak_mib():
    return int(re.search(r"VmHWM:\s+(\d+)", pathlib.Path(f"/proc/{server.pid}/status").read_text()).group(1)) // 1024

def reply(f):
    line = f.readline()
    while len(line) > 3 and line[3:4] == b"-":
        line = f.readline()
    return line.decode().strip()

def fail_once(port, n):
    with socket.create_connection(("127.0.0.1", port), timeout=120, source_address=(f"127.0.{n // 250}.{n % 250 + 2}", 0)) as c:
        f = c.makefile("rb")
        reply(f)
        c.sendall(b"USER demo\r\n"); reply(f)
        c.sendall(b"PASS wrong\r\n")
        return reply(f)

try:
    port = None
    while port is None:
        line = server.stdout.readline()
        if not line: sys.exit("the server stopped")
        port = next((int(m) for m in re.findall(r"listening on port (\d+)", line)), None)
    print(f"one failing login first (warm-up): {fail_once(port, 1000)!r}")
    time.sleep(1)
    before = peak_mib()
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        answers = list(pool.map(lambda n: fail_once(port, n), range(count)))
    took = time.monotonic() - start
    print(f"{count} failing logins at once: {sum(a.startswith('530') for a in answers)} got 530 in {took:.1f} s; "
          f"server peak resident memory {before} MiB before, {peak_mib()} MiB after")
    others = sorted({a for a in answers if not a.startswith("530")})
    if others: print(f"other answers: {others}")
finally:
    server.terminate()
    server.wait()
    shutil.rmtree(folder, ignore_errors=True)
