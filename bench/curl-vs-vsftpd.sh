#!/usr/bin/env bash
# RETR and STOR throughput of a 1 GiB file with curl over loopback: ScriptFtp (Release build) against vsftpd,
# in the same run, on free ports. Prints four numbers in MB/s (10^6 bytes per second), the median of RUNS runs each.
#
# Needs: root (vsftpd logs local users in through PAM; a local user is created), vsftpd, curl, python3, dotnet.
# Usage: bench/curl-vs-vsftpd.sh            (RUNS=3 SIZE_MB=1024 by default)
#        RUNS=5 SIZE_MB=2048 bench/curl-vs-vsftpd.sh
# RETR goes to /dev/null and STOR reads a file the page cache holds, so the disk is out of the picture on the
# client side; the servers write uploads to their root under a temp folder (same file system for both).
set -euo pipefail

RUNS=${RUNS:-3}
SIZE_MB=${SIZE_MB:-1024}
BENCH_USER=${BENCH_USER:-scriptftpbench}
BENCH_PASS=${BENCH_PASS:-Bench-pass-1}
REPO=$(cd "$(dirname "$0")/.." && pwd)

need() { command -v "$1" >/dev/null || { echo "missing: $1" >&2; exit 2; }; }
need curl; need python3; need dotnet
VSFTPD=$(command -v vsftpd || echo /usr/sbin/vsftpd)
[ -x "$VSFTPD" ] || { echo "missing: vsftpd (apt-get install -y vsftpd)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "run as root (vsftpd needs it for local users)" >&2; exit 2; }

# shellcheck source=bench/common.sh
. "$REPO/bench/common.sh"
wait_port() { # port: wait until a 220 greeting comes back
  for _ in $(seq 100); do
    if python3 - "$1" <<'EOF' 2>/dev/null; then return 0; fi
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
assert s.recv(100).startswith(b"220")
EOF
    sleep 0.1
  done
  echo "server on port $1 did not come up" >&2; return 1
}

WORK=$(mktemp -d /tmp/scriptftp-bench.XXXXXX)
chmod 755 "$WORK"
SCRIPTFTP_PID=""; VSFTPD_PID=""
cleanup() {
  [ -n "$SCRIPTFTP_PID" ] && kill "$SCRIPTFTP_PID" 2>/dev/null && wait "$SCRIPTFTP_PID" 2>/dev/null || true
  [ -n "$VSFTPD_PID" ] && kill "$VSFTPD_PID" 2>/dev/null && wait "$VSFTPD_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "building ScriptFtp (Release)..." >&2
dotnet build -c Release "$REPO/Server" -v quiet -nologo >&2
SERVER_DLL="$REPO/Server/bin/Release/net10.0/ScriptFtp.Server.dll"

echo "making a ${SIZE_MB} MiB test file..." >&2
head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom > "$WORK/source.bin"
chmod 644 "$WORK/source.bin"
BYTES=$(stat -c %s "$WORK/source.bin")

# --- ScriptFtp ---------------------------------------------------------------------------------------------
SF_PORT=$(free_port)
mkdir -p "$WORK/scriptftp/root/bench"
ln "$WORK/source.bin" "$WORK/scriptftp/root/bench/source.bin"
scriptftp_config "$WORK/scriptftp" "$SF_PORT" "$BENCH_PASS"
dotnet "$SERVER_DLL" --config "$WORK/scriptftp/ftp.toml" > "$WORK/scriptftp/console.log" 2>&1 &
SCRIPTFTP_PID=$!
wait_port "$SF_PORT"

# --- vsftpd ------------------------------------------------------------------------------------------------
if ! id "$BENCH_USER" >/dev/null 2>&1; then useradd -m -s /bin/sh "$BENCH_USER"; fi
echo "$BENCH_USER:$BENCH_PASS" | chpasswd
# vsftpd changes into the user's home before local_root: it must exist.
BENCH_HOME=$(getent passwd "$BENCH_USER" | cut -d: -f6)
mkdir -p "$BENCH_HOME" && chown "$BENCH_USER" "$BENCH_HOME"
VS_PORT=$(free_port)
mkdir -p "$WORK/vsftpd/root" "$WORK/vsftpd/empty"
ln "$WORK/source.bin" "$WORK/vsftpd/root/source.bin"
chown "$BENCH_USER" "$WORK/vsftpd/root"
cat > "$WORK/vsftpd/vsftpd.conf" <<EOF
listen=YES
listen_address=127.0.0.1
listen_port=$VS_PORT
listen_ipv6=NO
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=YES
local_umask=022
local_root=$WORK/vsftpd/root
pasv_enable=YES
seccomp_sandbox=NO
secure_chroot_dir=$WORK/vsftpd/empty
pam_service_name=vsftpd
xferlog_enable=NO
EOF
"$VSFTPD" "$WORK/vsftpd/vsftpd.conf" > "$WORK/vsftpd/console.log" 2>&1 &
VSFTPD_PID=$!
wait_port "$VS_PORT"

# --- measure -----------------------------------------------------------------------------------------------
# curl reports bytes per second; print MB/s with one decimal.
retr() { # port user
  curl -sS --fail -u "$2:$BENCH_PASS" -o /dev/null -w '%{speed_download}\n' "ftp://127.0.0.1:$1/source.bin" |
    awk '{printf "%.1f\n", $1 / 1e6}'
}
stor() { # port user run
  curl -sS --fail -u "$2:$BENCH_PASS" -T "$WORK/source.bin" -w '%{speed_upload}\n' "ftp://127.0.0.1:$1/upload-$3.bin" |
    awk '{printf "%.1f\n", $1 / 1e6}'
}
# The servers take turns within each run, and dirty pages are flushed (sync) before every measurement, so
# neither server pays for the other's (or the test file's) write-back.
declare -A runs
sync
for run in $(seq "$RUNS"); do
  for server in scriptftp vsftpd; do
    if [ $server = scriptftp ]; then port=$SF_PORT; user=bench; folder="$WORK/scriptftp/root/bench"; else port=$VS_PORT; user=$BENCH_USER; folder="$WORK/vsftpd/root"; fi
    sync; runs[$server-retr]+="$(retr "$port" "$user") "
    sync; runs[$server-stor]+="$(stor "$port" "$user" "$run") "
    got=$(stat -c %s "$folder/upload-$run.bin")
    [ "$got" = "$BYTES" ] || { echo "$server stored $got of $BYTES bytes" >&2; exit 1; }
    rm -f "$folder/upload-$run.bin"
  done
done
declare -A results
for key in scriptftp-retr scriptftp-stor vsftpd-retr vsftpd-stor; do
  echo "$key runs: ${runs[$key]}" >&2
  results[$key]=$(printf '%s\n' ${runs[$key]} | median)
done

echo "file: $BYTES bytes, median of $RUNS runs, curl $(curl --version | head -1 | cut -d' ' -f2), loopback"
printf 'ScriptFtp RETR %8s MB/s\n' "${results[scriptftp-retr]}"
printf 'ScriptFtp STOR %8s MB/s\n' "${results[scriptftp-stor]}"
printf 'vsftpd    RETR %8s MB/s\n' "${results[vsftpd-retr]}"
printf 'vsftpd    STOR %8s MB/s\n' "${results[vsftpd-stor]}"
