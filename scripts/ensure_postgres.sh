#!/usr/bin/env bash
# Make sure a PostgreSQL server answers on 127.0.0.1:5432 (trust auth, database `test`), as the
# storage tests expect. Uses the machine's server when it answers; otherwise starts an installed
# cluster, or installs one from Debian's packages. Prints "started" when it started one (so the
# caller can stop it again) and "running" when one was already up.
set -euo pipefail

answers() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -h 127.0.0.1 -p 5432 -q
  else
    python3 - <<'PY'
import socket, sys
s = socket.socket(); s.settimeout(1)
sys.exit(0 if s.connect_ex(("127.0.0.1", 5432)) == 0 else 1)
PY
  fi
}

wait_up() {
  for _ in $(seq 1 60); do answers && return 0; sleep 0.5; done
  return 1
}

if answers; then echo running; exit 0; fi

if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  echo "installing PostgreSQL from Debian's packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi
version=$(ls /etc/postgresql | sort -V | tail -n 1)
conf=/etc/postgresql/$version/main
# trust on loopback, as the machines this project runs on are configured
if ! grep -q "provenance-ledger" "$conf/pg_hba.conf"; then
  sed -i '1i # provenance-ledger tests: trust on loopback\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\nlocal all all trust' "$conf/pg_hba.conf"
fi
sed -i "s/^#\?listen_addresses.*/listen_addresses = '127.0.0.1'/" "$conf/postgresql.conf"
pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
wait_up || { echo "PostgreSQL did not come up" >&2; exit 1; }
psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='test'" | grep -q 1 \
  || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE test" >&2
echo started
