#!/usr/bin/env bash
# Checks the nginx configuration in deploy/bikriagent.nginx.conf (or the file
# given as the first argument), in two steps:
#
# 1. `nginx -t` on a copy included in a throwaway nginx.conf, with a
#    self-signed certificate made here by openssl in place of the Let's
#    Encrypt paths, logs in a temporary folder, and free loopback ports in
#    place of 80 and 443 (the only changes).
# 2. That copy served for real in front of a stub app that echoes what it
#    received, to check what the comments promise: the HTTP redirect, unknown
#    hosts refused, TLS versions and ciphers, the raw path passed unchanged,
#    one X-Forwarded-For entry, no header added to the app's answers, no
#    compression, the access log without query strings, the body limits, the
#    stricter limit on the login forms, and the answer when the app is down.
#    Separate clients are separate loopback addresses (127.0.0.x), so each
#    check starts with full rate-limit buckets.
#
# Run by scripts/test.sh; takes about 20 s. Installs nginx, openssl and curl
# with apt when missing (as root only); otherwise says the check was skipped.
# Needs python3 for the stub app.
set -euo pipefail
cd "$(dirname "$0")/.."
CONF=${1:-deploy/bikriagent.nginx.conf}
HOST=bikri.example.com

need() {
  local tool=$1 package=$2
  if command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ]; then return 0; fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "$tool is not installed (apt-get install $package as root): the proxy configuration was not checked"
    exit 0
  fi
  echo "installing the Debian package '$package'..." >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null
}
need nginx nginx
need openssl openssl
need curl curl
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

TMP=$(mktemp -d /tmp/bikri-proxy-check.XXXXXX)
# nginx's workers (user nobody when started as root) write request bodies here.
chmod 755 "$TMP"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj "/CN=$HOST" -addext "subjectAltName=DNS:$HOST" \
  -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
HTTP_PORT=$(free_port)
HTTPS_PORT=$(free_port)
APP_PORT=$(free_port)

# The shipped file with the certificate, logs and ACME folder moved into
# $TMP, listening on free loopback ports (IPv4 only) instead of 80 and 443
# (`nginx -t` binds them too, which needs root, and IPv6, which containers
# may lack), in front of the stub app's port instead of 3000.
sed -e "s#/etc/letsencrypt/live/$HOST/fullchain.pem#$TMP/cert.pem#" \
  -e "s#/etc/letsencrypt/live/$HOST/privkey.pem#$TMP/key.pem#" \
  -e "s#/var/log/nginx/#$TMP/#" \
  -e "s#/var/www/letsencrypt#$TMP/acme#" \
  -e "s#^\(\s*\)listen 80\b#\1listen 127.0.0.1:$HTTP_PORT#" \
  -e "s#^\(\s*\)listen 443\b#\1listen 127.0.0.1:$HTTPS_PORT#" \
  -e '/^\s*listen \[::\]/d' \
  -e "s#server 127.0.0.1:3000;#server 127.0.0.1:$APP_PORT;#" \
  "$CONF" >"$TMP/bikriagent.conf"

# A main nginx.conf with the `http` settings Debian's /etc/nginx/nginx.conf
# has (so a directive ours repeats, or relies on, shows up here), our file in
# place of conf.d/*.conf, and every path in $TMP.
cat >"$TMP/nginx.conf" <<EOF
pid $TMP/nginx.pid;
error_log $TMP/error.log;
events {}
http {
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    default_type application/octet-stream;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;
    access_log $TMP/access.log;
    gzip on;
    client_body_temp_path $TMP/body;
    proxy_temp_path $TMP/proxy;
    fastcgi_temp_path $TMP/fastcgi;
    uwsgi_temp_path $TMP/uwsgi;
    scgi_temp_path $TMP/scgi;
    include $TMP/bikriagent.conf;
}
EOF

echo "nginx -t on $CONF"
"$NGINX" -t -q -p "$TMP" -e "$TMP/error.log" -c "$TMP/nginx.conf"

# The stub app: answers every request with what reached it, and sets HSTS as
# the real app does, to see that nginx does not add a second one.
cat >"$TMP/stub.py" <<'EOF'
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        lines = [
            f"path={self.path}",
            "xff=" + "|".join(self.headers.get_all("X-Forwarded-For") or []),
            "x-real-ip=" + "|".join(self.headers.get_all("X-Real-IP") or []),
            "forwarded=" + "|".join(self.headers.get_all("Forwarded") or []),
            f"host={self.headers.get('Host')}",
            f"body={len(body)}",
        ]
        out = ("\n".join(lines) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = answer

    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Echo).serve_forever()
EOF
python3 "$TMP/stub.py" "$APP_PORT" &
PIDS+=($!)

"$NGINX" -p "$TMP" -e "$TMP/error.log" -c "$TMP/nginx.conf" -g 'daemon off;' &
PIDS+=($!)

HTTPS="https://$HOST:$HTTPS_PORT"
# from ADDRESS CURL_ARGS…: a request from the loopback address ADDRESS.
from() {
  local address=$1
  shift
  curl -sS --max-time 10 --interface "$address" --cacert "$TMP/cert.pem" \
    --resolve "$HOST:$HTTPS_PORT:127.0.0.1" --resolve "$HOST:$HTTP_PORT:127.0.0.1" "$@"
}
# Ready when a page comes back from the stub through nginx (from an address
# of its own, so the waiting spends no other check's rate-limit bucket).
for _ in $(seq 100); do
  if from 127.0.0.2 -f -o /dev/null "$HTTPS/" 2>/dev/null; then break; fi
  sleep 0.1
done
if ! from 127.0.0.2 -f -o /dev/null "$HTTPS/"; then
  cat "$TMP/error.log" 2>/dev/null
  echo "nginx or the stub app did not start"
  exit 1
fi

FAILED=0
check() {
  local what=$1 expected=$2 actual=$3
  if [ "$expected" = "$actual" ]; then
    echo "  ok: $what"
  else
    echo "  FAILED: $what: expected [$expected], got [$actual]"
    FAILED=1
  fi
}
# The value of one `name=` line of the stub's answer.
field() { sed -n "s/^$1=//p"; }

echo "nginx running $CONF on loopback:"
check "http redirects to the same path on https" "301 https://$HOST/login?next=%2Fdashboard" \
  "$(from 127.0.0.1 -o /dev/null -w '%{http_code} %{redirect_url}' "http://$HOST:$HTTP_PORT/login?next=%2Fdashboard")"
check "an unknown host on http gets no answer" "000" \
  "$(from 127.0.0.1 -o /dev/null -w '%{http_code}' -H 'Host: other.example' "http://$HOST:$HTTP_PORT/" 2>/dev/null || true)"
check "an unknown name on https gets no TLS handshake" "000" \
  "$(curl -sS -k --max-time 10 --resolve "other.example:$HTTPS_PORT:127.0.0.1" -o /dev/null -w '%{http_code}' "https://other.example:$HTTPS_PORT/" 2>/dev/null || true)"
check "TLS 1.2 is accepted" "200" "$(from 127.0.0.1 --tlsv1.2 --tls-max 1.2 -o /dev/null -w '%{http_code}' "$HTTPS/")"
check "TLS 1.3 is accepted" "200" "$(from 127.0.0.1 --tlsv1.3 -o /dev/null -w '%{http_code}' "$HTTPS/")"
# This machine's OpenSSL may refuse TLS 1.0 and 1.1 on its own; the alert
# tells nginx's refusal ("protocol version") apart from that.
for version in tls1 tls1_1; do
  check "$version is refused by nginx" "1" "$(openssl s_client -"$version" -cipher 'DEFAULT:@SECLEVEL=0' \
    -servername "$HOST" -connect "127.0.0.1:$HTTPS_PORT" </dev/null 2>&1 | grep -c 'alert protocol version' || true)"
done
check "a CBC cipher suite is refused" "000" \
  "$(from 127.0.0.1 --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-ECDSA-AES128-SHA256 -o /dev/null -w '%{http_code}' "$HTTPS/" 2>/dev/null || true)"

for raw in '/a//b' '/staff/../api/x' '/catalog/%2e%2e/staff?q=a%2Fb' '/login/'; do
  check "the app sees $raw unchanged" "$raw" "$(from 127.0.0.1 --path-as-is "$HTTPS$raw" | field path)"
done

answer=$(from 127.0.0.3 -H 'X-Forwarded-For: 203.0.113.9' -H 'X-Real-IP: 203.0.113.9' \
  -H 'Forwarded: for=203.0.113.9' "$HTTPS/")
check "X-Forwarded-For is only the address nginx saw" "127.0.0.3" "$(field xff <<<"$answer")"
check "X-Real-IP is dropped" "" "$(field x-real-ip <<<"$answer")"
check "Forwarded is dropped" "" "$(field forwarded <<<"$answer")"
check "Host is the site's name" "$HOST" "$(field host <<<"$answer")"

from 127.0.0.1 -o /dev/null "$HTTPS/reset-password?token=QUERY-SECRET"
check "the access log keeps the path and drops the query" "1 0" \
  "$(grep -c '"GET /reset-password HTTP/2.0" 200' "$TMP/bikriagent.access.log") $(grep -c QUERY-SECRET "$TMP/bikriagent.access.log")"

headers=$(from 127.0.0.1 --compressed -D - -o /dev/null "$HTTPS/")
check "one HSTS header (the app's)" "1" "$(grep -ci '^strict-transport-security:' <<<"$headers" || true)"
check "no header added to the app's answer" "0" \
  "$(grep -ciE '^(content-security-policy|x-frame-options|x-content-type-options|cache-control):' <<<"$headers" || true)"
check "pages are not compressed" "0" "$(grep -ci '^content-encoding:' <<<"$headers" || true)"

# post ADDRESS PATH BYTES: the status of a form post of BYTES bytes.
post() {
  head -c "$3" /dev/zero | tr '\0' a >"$TMP/payload"
  from "$1" -o /dev/null -w '%{http_code}' -H 'Content-Type: application/x-www-form-urlencoded' \
    --data-binary @"$TMP/payload" "$HTTPS$2"
}
check "a 64 KiB form is passed" "200" "$(post 127.0.0.4 /api/save_profile 65536)"
check "a form of 64 KiB + 1 is refused" "413" "$(post 127.0.0.4 /api/save_profile 65537)"
check "a 1 MiB webhook is passed" "200" "$(post 127.0.0.4 /webhooks/meta 1048576)"
check "a webhook of 1 MiB + 1 is refused" "413" "$(post 127.0.0.4 /webhooks/meta 1048577)"
check "a 2 MiB + 64 KiB CSV upload is passed" "200" "$(post 127.0.0.4 /api/import_csv 2162688)"
check "a CSV upload one byte larger is refused" "413" "$(post 127.0.0.4 /api/import_csv 2162689)"
check "limits follow the path as sent: //webhooks/meta is not a webhook" "413" "$(post 127.0.0.4 //webhooks/meta 65537)"

# statuses ADDRESS PATH COUNT: the statuses of COUNT posts, one per line.
statuses() {
  for _ in $(seq "$3"); do
    from "$1" -o /dev/null -w '%{http_code}\n' -d 'x=1' "$HTTPS$2"
  done
}
login=$(statuses 127.0.0.5 /api/login 40)
check "31 quick login posts from one address pass" "31" "$(head -n 31 <<<"$login" | grep -c '^200$' || true)"
check "the next ones are refused with 429" "429" "$(tail -n 1 <<<"$login")"
from 127.0.0.5 -D "$TMP/headers" -o /dev/null -d 'x=1' "$HTTPS/api/login"
check "the 429 says when to retry" "60" "$(tr -d '\r' <"$TMP/headers" | sed -n 's/^retry-after: *//Ip')"
check "other forms are not under the login limit" "40" "$(statuses 127.0.0.6 /api/logout 40 | grep -c '^200$' || true)"
check "a burst of 200 webhooks passes" "200" "$(statuses 127.0.0.7 /webhooks/meta 200 | grep -c '^200$' || true)"

kill "${PIDS[0]}"
wait "${PIDS[0]}" 2>/dev/null || true
code=$(from 127.0.0.8 -D "$TMP/headers" -o /dev/null -w '%{http_code}' "$HTTPS/")
check "with the app down: 503, retry in 30 s" "503 30" "$code $(tr -d '\r' <"$TMP/headers" | sed -n 's/^retry-after: *//Ip')"

if [ "$FAILED" -ne 0 ]; then
  echo "nginx's error log (last lines):"
  cat "$TMP/error.log" "$TMP/bikriagent.error.log" 2>/dev/null | grep -v 'limiting requests' | tail -n 20
  echo "the proxy configuration does not do what it promises"
  exit 1
fi
echo "the proxy configuration passed"
