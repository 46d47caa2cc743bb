#!/usr/bin/env bash
# Builds stand-ins for the PostgreSQL, Redis and nginx images of deploy/compose.yaml from
# Debian's packages, for hosts that cannot pull from Docker Hub; deploy/compose.offline.yaml
# points the compose file at them. Run deploy/base-images.sh first (they start from
# voxguard-base/python, a Debian bookworm system), then:
#   deploy/service-images.sh
#   docker compose -f deploy/compose.yaml -f deploy/compose.offline.yaml up -d
# Each behaves as its Docker Hub image does for this compose file: PostgreSQL (Debian's 15)
# creates POSTGRES_USER, POSTGRES_PASSWORD and POSTGRES_DB on first start and keeps its data in
# /var/lib/postgresql/data; Redis keeps its files in /data and accepts other containers;
# nginx reads /etc/nginx/conf.d/*.conf and stays in the foreground.
set -euo pipefail

command -v docker >/dev/null || { echo "service-images.sh: docker is not installed" >&2; exit 2; }
docker image inspect voxguard-base/python >/dev/null 2>&1 \
    || { echo "service-images.sh: no voxguard-base/python image: run deploy/base-images.sh" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

build() {  # build NAME: the Dockerfile and files are in $work/NAME
    docker build --network host -q -t "voxguard-base/$1" "$work/$1" >/dev/null
    echo "built voxguard-base/$1"
}

mkdir -p "$work/postgres" "$work/redis" "$work/nginx"
cat >"$work/postgres/entrypoint.sh" <<'EOF'
#!/bin/sh
# First start: a cluster owned by POSTGRES_USER (password POSTGRES_PASSWORD, required over
# the network) with the database POSTGRES_DB; later starts reuse the volume.
set -eu
bin=$(ls -d /usr/lib/postgresql/*/bin | tail -1)
data=/var/lib/postgresql/data
user="${POSTGRES_USER:-postgres}"
if [ ! -s "$data/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
    install -d -o postgres -g postgres -m 0700 "$data"
    printf '%s\n' "$POSTGRES_PASSWORD" >/tmp/pw && chown postgres /tmp/pw
    runuser -u postgres -- "$bin/initdb" -D "$data" -U "$user" --pwfile=/tmp/pw \
        --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f /tmp/pw
    echo "host all all all scram-sha-256" >>"$data/pg_hba.conf"
    runuser -u postgres -- "$bin/pg_ctl" -D "$data" -w -o "-c listen_addresses=''" start >/dev/null
    runuser -u postgres -- "$bin/psql" -h /var/run/postgresql -p 5432 -U "$user" -d postgres \
        -qc "CREATE DATABASE \"${POSTGRES_DB:-$user}\""
    runuser -u postgres -- "$bin/pg_ctl" -D "$data" -w stop >/dev/null
fi
exec runuser -u postgres -- "$bin/postgres" -D "$data" -c listen_addresses='*'
EOF
cat >"$work/postgres/Dockerfile" <<'EOF'
FROM voxguard-base/python
RUN apt-get update && apt-get install -y --no-install-recommends postgresql \
    && pg_dropcluster --stop "$(ls /usr/lib/postgresql)" main \
    && rm -rf /var/lib/apt/lists/* && install -d -o postgres -g postgres /var/run/postgresql
COPY entrypoint.sh /usr/local/bin/postgres-entrypoint
RUN chmod 0755 /usr/local/bin/postgres-entrypoint
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint"]
EOF
cat >"$work/redis/entrypoint.sh" <<'EOF'
#!/bin/sh
# As the Docker Hub image: without a config file, listen for other containers too.
if [ "${1:-}" = redis-server ]; then
    shift
    exec redis-server --protected-mode no --dir /data "$@"
fi
exec "$@"
EOF
cat >"$work/redis/Dockerfile" <<'EOF'
FROM voxguard-base/python
RUN apt-get update && apt-get install -y --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/* && install -d -o redis -g redis /data
COPY entrypoint.sh /usr/local/bin/redis-entrypoint
RUN chmod 0755 /usr/local/bin/redis-entrypoint
WORKDIR /data
EXPOSE 6379
ENTRYPOINT ["/usr/local/bin/redis-entrypoint"]
CMD ["redis-server"]
EOF
cat >"$work/nginx/Dockerfile" <<'EOF'
FROM voxguard-base/python
RUN apt-get update && apt-get install -y --no-install-recommends nginx \
    && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/default \
    && ln -sf /dev/stdout /var/log/nginx/access.log && ln -sf /dev/stderr /var/log/nginx/error.log
EXPOSE 80
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
EOF
build postgres
build redis
build nginx
