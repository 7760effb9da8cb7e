# Shared by the bench scripts (sourced, not run).

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# scriptftp_config FOLDER PORT PASSWORD: a loopback ScriptFtp with one user "bench" (home root/bench), overwrite
# allowed, no plugins, warnings only; writes FOLDER/ftp.toml and FOLDER/users.toml.
scriptftp_config() {
  mkdir -p "$1/root/bench"
  printf '[users.bench]\npassword = "%s"\nhome = "bench"\n' "$3" > "$1/users.toml"
  cat > "$1/ftp.toml" <<EOF
[server]
listen = "127.0.0.1"
port = $2
root = "root"
users_file = "users.toml"
allow_overwrite = true
[log]
file = ""
level = "Warning"
[plugins]
folder = ""
EOF
}
