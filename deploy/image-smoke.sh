#!/usr/bin/env bash
# Smoke test of a built image, laid out as deploy/compose.yaml runs it: two API containers and
# one job worker sharing one PostgreSQL database, one Redis and one data volume. PostgreSQL
# and Redis are the host's (host networking), so only the VoxGuard image is needed.
#   deploy/image-smoke.sh [IMAGE] [DATABASE_ADMIN_URL] [REDIS_URL] [AUDIO_DIR]
# Checks: both APIs become healthy (the image's HEALTHCHECK); the first admin key is printed
# once; a speaker enrolled through API 1 is identified through API 2; a detect job posted to
# API 2 is run by the worker container; /v1/info answers. Everything it made is removed.
set -euo pipefail

IMAGE="${1:-voxguard}"
ADMIN_URL="${2:-postgresql://postgres@127.0.0.1:5432/postgres}"
REDIS_URL="${3:-redis://127.0.0.1:6379/7}"
AUDIO="${4:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data/librispeech}"
run="vgsmoke$$"
db="${run}"
port1=18101
port2=18102
for tool in docker psql curl jq; do
    command -v "$tool" >/dev/null || { echo "image-smoke.sh: $tool is not installed" >&2; exit 2; }
done
mapfile -t clips < <(find "$AUDIO" -maxdepth 1 -name '*.flac' | sort | head -3)
[ "${#clips[@]}" -ge 3 ] || { echo "image-smoke.sh: need 3 .flac files in $AUDIO" >&2; exit 2; }

cleanup() {
    docker rm -f "$run-api-1" "$run-api-2" "$run-worker" >/dev/null 2>&1 || true
    docker volume rm "$run-data" >/dev/null 2>&1 || true
    psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT
# Until the image's HEALTHCHECK says healthy; fails at once if the container stops.
wait_healthy() {
    for _ in $(seq 120); do
        case "$(docker inspect -f '{{.State.Status}} {{.State.Health.Status}}' "$1")" in
            "running healthy") return 0 ;;
            running*) sleep 2 ;;
            *) break ;;
        esac
    done
    docker logs "$1" 2>&1 | tail -30
    echo "FAIL: $1 never became healthy" >&2
    exit 1
}
psql "$ADMIN_URL" -qc "CREATE DATABASE \"$db\""
db_url="postgresql+psycopg://${ADMIN_URL#postgresql://}"
db_url="${db_url%/*}/$db"

fernet="$(docker run --rm "$IMAGE" python -c \
    'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
common=(--network host -v "$run-data:/var/lib/voxguard"
    -e VOXGUARD_ENVIRONMENT=production
    -e VOXGUARD_ENCRYPTION_KEY="$fernet"
    -e VOXGUARD_JWT_SECRET="smoke-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    -e VOXGUARD_DATABASE_URL="$db_url" -e VOXGUARD_QUEUE_URL="$REDIS_URL"
    -e VOXGUARD_JOB_WORKERS=0)
docker run -d --name "$run-api-1" "${common[@]}" -e VOXGUARD_API_PORT=$port1 "$IMAGE" >/dev/null
# The second API starts once the first has migrated the database and made the admin key.
wait_healthy "$run-api-1"
docker run -d --name "$run-api-2" "${common[@]}" -e VOXGUARD_API_PORT=$port2 "$IMAGE" >/dev/null
docker run -d --name "$run-worker" "${common[@]}" "$IMAGE" voxguard worker --workers 1 >/dev/null
wait_healthy "$run-api-2"
echo "ok: both API containers healthy ($(docker inspect -f '{{.Config.User}}' "$run-api-1") user)"

key="$(docker logs "$run-api-1" 2>&1 | grep -oE -m1 'vg_[A-Za-z0-9_-]+' || true)"
[ -n "$key" ] || { echo "FAIL: no admin key in API 1's log" >&2; exit 1; }
auth=(-H "Authorization: Bearer $key")

curl -fsS "${auth[@]}" -F name=smoke-reader -F "files=@${clips[0]}" \
    "http://127.0.0.1:$port1/v1/speakers" | jq -e '.speaker.id' >/dev/null
echo "ok: enrolled through API 1"
found="$(curl -fsS "${auth[@]}" -F "file=@${clips[0]}" "http://127.0.0.1:$port2/v1/identify")"
{ echo "$found" | jq -e '.decision == "identified"' >/dev/null && grep -q smoke-reader <<<"$found"; } \
    || { echo "FAIL: API 2 did not identify the speaker: $found" >&2; exit 1; }
echo "ok: identified through API 2"

job="$(curl -fsS "${auth[@]}" -F "files=@${clips[1]}" -F "files=@${clips[2]}" \
    "http://127.0.0.1:$port2/v1/jobs/detect" | jq -r '.id')"
status=queued
for _ in $(seq 150); do
    status="$(curl -fsS "${auth[@]}" "http://127.0.0.1:$port1/v1/jobs/$job" | jq -r '.status')"
    case "$status" in succeeded | failed | cancelled) break ;; esac
    sleep 2
done
[ "$status" = succeeded ] || { docker logs "$run-worker" | tail -30; echo "FAIL: job $status" >&2; exit 1; }
lines="$(curl -fsS "${auth[@]}" "http://127.0.0.1:$port1/v1/jobs/$job/results" | wc -l)"
[ "$lines" -eq 2 ] || { echo "FAIL: $lines result lines, expected 2" >&2; exit 1; }
echo "ok: the worker container ran a detect job of 2 files posted to API 2"
curl -fsS "${auth[@]}" "http://127.0.0.1:$port2/v1/info" | jq -e '.models' >/dev/null
echo "ok: /v1/info"
docker stats --no-stream --format '{{.Name}} {{.MemUsage}}' "$run-api-1" "$run-api-2" "$run-worker"
echo "image smoke test passed"
