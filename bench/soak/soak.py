#!/usr/bin/env python3
"""A long soak: parallel clients loop whole sessions (login, STOR, RETR, NLST, DELE, QUIT) against a running server.

Usage:
  python3 bench/soak/soak.py PORT [--user demo --password demo-pass] [--clients 12] [--seconds 600] [--pid PID]

Client i connects from 127.0.0.(2+i), as a separate machine would (the login guard counts logins in flight per
address). Every session is checked: the file comes back byte for byte, NLST names it, DELE removes it. With --pid, the
server's resident memory and open files are printed every 30 s (from /proc), to show that they stay flat.
Prints the failed sessions with the step that failed; exits 1 if any failed. Loopback only.
The short version of this runs in the tests: ListingChurnTests.Eight_sessions_storing_fetching_listing_and_deleting_...
"""
import argparse
import collections
import ftplib
import io
import os
import sys
import threading
import time


def session(port, user, password, source, name, payload):
    step = "login"
    try:
        with ftplib.FTP(timeout=60, source_address=(source, 0)) as ftp:
            ftp.connect("127.0.0.1", port)
            ftp.login(user, password)
            step = "STOR"
            ftp.storbinary(f"STOR {name}", io.BytesIO(payload))
            step = "RETR"
            back = io.BytesIO()
            ftp.retrbinary(f"RETR {name}", back.write)
            if back.getvalue() != payload:
                return "RETR: other bytes came back"
            step = "NLST"
            if name not in ftp.nlst():
                return f"NLST: {name} missing"
            step = "DELE"
            ftp.delete(name)
            step = "QUIT"
            ftp.quit()
        return None
    except (OSError, EOFError, ftplib.Error) as e:
        return f"{step}: {e}"


def client(index, args, until, results, lock):
    source = f"127.0.0.{2 + index}"
    payload = os.urandom(4096 + index)
    round_ = 0
    while time.monotonic() < until:
        failure = session(args.port, args.user, args.password, source, f"soak-{index}-{round_}.bin", payload)
        with lock:
            results.append(failure)
        round_ += 1


def proc_figures(pid):
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return rss // 1024, len(os.listdir(f"/proc/{pid}/fd"))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("port", type=int)
    parser.add_argument("--user", default="demo")
    parser.add_argument("--password", default="demo-pass")
    parser.add_argument("--clients", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--pid", type=int, help="the server's process id, to watch its memory and open files")
    args = parser.parse_args()
    results, lock = [], threading.Lock()
    started = time.monotonic()
    until = started + args.seconds
    threads = [threading.Thread(target=client, args=(i, args, until, results, lock)) for i in range(args.clients)]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        time.sleep(min(30, max(0.1, until - time.monotonic() + 1)))
        with lock:
            done, failed = len(results), sum(r is not None for r in results)
        figures = ""
        if args.pid:
            rss, files = proc_figures(args.pid)
            figures = f", server VmRSS {rss} MiB, {files} open files"
        print(f"{time.monotonic() - started:6.0f} s: {done} sessions, {failed} failed{figures}", flush=True)
    failures = [r for r in results if r is not None]
    for step, count in collections.Counter(f.split(":")[0] for f in failures).most_common():
        print(f"  failed at {step}: {count}")
    for failure in failures[:20]:
        print(f"  {failure}")
    print(f"{len(results)} sessions, {len(failures)} failed ({100 * len(failures) / max(1, len(results)):.2f}%)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
