#!/bin/sh
# The dev database backup: pg_dump -Fc into BACKUP_DIR, keep the newest BACKUP_KEEP dumps, and
# push the time of the last success to a Prometheus Pushgateway (the backup_too_old alert).
# POSIX sh and busybox applets only (the postgres alpine image has no others); the tests run it
# under busybox too, with nothing but busybox and pg_dump on PATH.
#
#   backup.sh once   one dump; exit 0, 1 if the dump failed (nothing pushed), 2 if only the
#                    push failed (the dump is kept)
#   backup.sh loop   dump now and every BACKUP_INTERVAL_SECONDS; between dumps re-push the last
#                    success every BACKUP_TICK_SECONDS so a restarted Pushgateway has it again
#   backup.sh check  healthcheck: the last success is younger than BACKUP_MAX_AGE_SECONDS
#
# Connection: libpq's PGHOST, PGPORT, PGUSER, PGDATABASE and PGPASSWORD.
set -eu

BACKUP_DIR=${BACKUP_DIR:-/backups}
BACKUP_KEEP=${BACKUP_KEEP:-7}
BACKUP_INTERVAL_SECONDS=${BACKUP_INTERVAL_SECONDS:-86400}
BACKUP_TICK_SECONDS=${BACKUP_TICK_SECONDS:-300}
BACKUP_MAX_AGE_SECONDS=${BACKUP_MAX_AGE_SECONDS:-$((BACKUP_INTERVAL_SECONDS * 2 + 1800))}
BACKUP_JOB=${BACKUP_JOB:-db-backup}
METRIC=platform_backup_last_success_timestamp_seconds
MARKER="$BACKUP_DIR/.last-success"

log() {
    echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) backup: $*" >&2
}

push() {
    # $1: unix time of the last successful dump. POST replaces this metric in the group only.
    body="# TYPE $METRIC gauge
$METRIC $1
"
    timeout 10 wget -q -O /dev/null \
        --header "Content-Type: text/plain; version=0.0.4" \
        --post-data "$body" \
        "${PUSHGATEWAY_URL%/}/metrics/job/$BACKUP_JOB/database/$PGDATABASE"
}

rotate() {
    # Dump names sort by time (UTC stamp in the name), so the newest BACKUP_KEEP come first.
    ls -1 "$BACKUP_DIR" | grep -E "^$PGDATABASE-[0-9]{8}T[0-9]{6}Z\.dump\$" | sort -r |
        tail -n "+$((BACKUP_KEEP + 1))" | while read -r old; do
            rm -f "$BACKUP_DIR/$old"
            log "removed $old (keeping $BACKUP_KEEP)"
        done
}

once() {
    : "${PGDATABASE:?set PGDATABASE}" "${PUSHGATEWAY_URL:?set PUSHGATEWAY_URL}"
    mkdir -p "$BACKUP_DIR"
    umask 077
    file="$BACKUP_DIR/$PGDATABASE-$(date -u +%Y%m%dT%H%M%SZ).dump"
    # A partial file never counts as a dump: renamed only once pg_dump succeeded.
    if ! pg_dump --format=custom --no-password --file="$file.partial"; then
        rm -f "$file.partial"
        log "pg_dump of $PGDATABASE as ${PGUSER-?} failed; nothing pushed"
        return 1
    fi
    mv -f "$file.partial" "$file"
    finished=$(date +%s)
    echo "$finished" >"$MARKER.tmp" && mv -f "$MARKER.tmp" "$MARKER"
    log "wrote $file ($(wc -c <"$file") bytes)"
    rotate
    if ! push "$finished"; then
        log "dump kept, but the push to $PUSHGATEWAY_URL failed"
        return 2
    fi
}

check() {
    [ -s "$MARKER" ] || { echo "no successful dump yet" >&2; return 1; }
    age=$(($(date +%s) - $(cat "$MARKER")))
    [ "$age" -lt "$BACKUP_MAX_AGE_SECONDS" ] || {
        echo "last successful dump is ${age}s old" >&2
        return 1
    }
}

loop() {
    trap 'exit 0' TERM INT
    next=0
    while :; do
        now=$(date +%s)
        if [ "$now" -ge "$next" ]; then
            # A failed dump is retried at the next tick, a good one after the interval.
            if once; then next=$((now + BACKUP_INTERVAL_SECONDS)); else next=0; fi
        elif [ -s "$MARKER" ]; then
            push "$(cat "$MARKER")" || log "re-push to $PUSHGATEWAY_URL failed"
        fi
        sleep "$BACKUP_TICK_SECONDS" &
        wait $! || true
    done
}

case "${1:-loop}" in
once) once ;;
loop) loop ;;
check) check ;;
*)
    echo "usage: $0 [once|loop|check]" >&2
    exit 64
    ;;
esac
