# Helpers to run a private PostgreSQL 15 cluster in a project folder.
# Sourced by scripts/run.sh and scripts/test.sh; not meant to be run directly.
#
# pg_start DIR PORT   initialise DIR if needed (scram password in DIR.password),
#                     start the server on 127.0.0.1:PORT, wait until it accepts
#                     (PG_FSYNC=off for throwaway clusters, PG_EXTRA_OPTS for more -c settings).
# pg_stop DIR         fast shutdown.
# pg_url DIR PORT DB  print a connection string for the cluster's superuser.

pg_bindir() {
  for dir in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
    if [ -x "$dir/initdb" ]; then echo "$dir"; return 0; fi
  done
  return 1
}

pg_ensure_installed() {
  if pg_bindir >/dev/null; then return 0; fi
  echo "PostgreSQL server binaries not found; installing the Debian package 'postgresql'..." >&2
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: run as root or install PostgreSQL 15 yourself (apt-get install postgresql)" >&2
    return 1
  fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  pg_bindir >/dev/null
}

# Runs a PostgreSQL binary as the cluster's owner (postgres when we are root).
pg_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

pg_start() {
  local dir=$1 port=$2 bindir
  bindir=$(pg_bindir) || return 1
  local pwfile="$dir.password"
  if [ ! -s "$dir/PG_VERSION" ]; then
    mkdir -p "$dir"
    if [ ! -s "$pwfile" ]; then
      (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$pwfile")
    fi
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir" "$pwfile"; fi
    chmod 700 "$dir"
    pg_as_owner "$bindir/initdb" -D "$dir" -U postgres --auth=scram-sha-256 \
      --pwfile="$pwfile" --encoding=UTF8 --locale=C.UTF-8 >"$dir.initdb.log" 2>&1 \
      || { echo "initdb failed; see $dir.initdb.log" >&2; return 1; }
  fi
  if pg_as_owner "$bindir/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    return 0
  fi
  # Listen on loopback only; sockets in the data folder so no system path is needed.
  pg_as_owner "$bindir/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=300 -c fsync=${PG_FSYNC:-on} ${PG_EXTRA_OPTS:-}" \
    start >/dev/null || { echo "PostgreSQL did not start; see $dir/server.log" >&2; return 1; }
}

pg_stop() {
  local dir=$1 bindir
  bindir=$(pg_bindir) || return 0
  if [ -s "$dir/PG_VERSION" ]; then
    pg_as_owner "$bindir/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
  fi
}

pg_url() {
  local dir=$1 port=$2 db=$3
  printf 'postgres://postgres:%s@127.0.0.1:%s/%s' "$(cat "$dir.password")" "$port" "$db"
}
