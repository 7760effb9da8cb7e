#!/usr/bin/env python3
"""Issue 12's pre-login flood at full size: 8 addresses (127.0.0.2..9) hold 2,000 connections that never log in,
while a real user from 127.0.0.10 logs in 5 times; each login must take under 2 s.

Run a server on the shipped ftp.toml with trusted_networks = ["127.0.0.1/32"] (so the attackers are not trusted), then:
    ulimit -n 8192; python3 bench/prelogin-flood/flood.py PORT [USER PASSWORD]
Loopback only."""
import socket, sys, time

port = int(sys.argv[1])
user, password = (sys.argv[2], sys.argv[3]) if len(sys.argv) > 3 else ("demo", "demo-pass")
held = []
for a in range(2, 10):
    for _ in range(250):
        s = socket.socket()
        s.bind((f"127.0.0.{a}", 0))
        s.connect(("127.0.0.1", port))
        held.append(s)
print(f"holding {len(held)} connections that never log in")

def reply(f):
    line = f.readline()
    while len(line) > 3 and line[3:4] == b"-":
        line = f.readline()
    return line.decode().strip()

ok = 0
for round in range(5):
    start = time.monotonic()
    c = socket.socket(); c.bind(("127.0.0.10", 0)); c.settimeout(10); c.connect(("127.0.0.1", port))
    f = c.makefile("rb")
    greeting = reply(f)
    c.sendall(f"USER {user}\r\n".encode()); reply(f)
    c.sendall(f"PASS {password}\r\n".encode()); answer = reply(f)
    took = time.monotonic() - start
    good = answer.startswith("230") and took < 2
    ok += good
    print(f"login {round + 1}: {answer!r} in {took:.2f} s {'ok' if good else 'FAILED'} (greeting {greeting!r})")
    c.close()
for s in held: s.close()
print(f"{ok} of 5")
sys.exit(0 if ok == 5 else 1)
