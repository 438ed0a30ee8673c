#!/usr/bin/env bash
# The systemd unit in systemd/: `systemd-analyze verify` accepts it, and
# its ExecStart, instantiated for an interface with the paths moved into
# a scratch directory, really runs: the daemon attaches with the policy,
# answers /healthz, writes events to the file, reopens it on ExecReload's
# signal, and leaves the limiter attached when stopped.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
require_env
require_cmds systemd-analyze curl

UNIT=$RW_ROOT/systemd/ratewall@.service
GW=$(ns_name gw)
CL=$(ns_name cl)
gateway_and_client "$GW" "$CL"
test_tmpdir

# The unit as installed would run, with the binary and paths here.
sed -e "s|/usr/local/sbin/ratewall|$RATEWALL|" -e "s|/etc/ratewall|$TMPD/etc|g" \
	-e "s|/var/log/ratewall|$TMPD/log|g" "$UNIT" >"$TMPD/ratewall@gw0.service"
expect_true "systemd-analyze verify accepts the unit" \
	systemd-analyze verify --man=no "$TMPD/ratewall@gw0.service"
# systemd's expansion of %i and of the default RATEWALL_METRICS
metrics=$(sed -n 's/^Environment=RATEWALL_METRICS=//p' "$UNIT")
expect_eq "default metrics address" "$metrics" 127.0.0.1:9464
exec_start=$(sed -n 's/^ExecStart=//p' "$TMPD/ratewall@gw0.service" | sed -e 's/%i/gw0/g' \
	-e "s/\${RATEWALL_METRICS}/$metrics/")
expect_true "ExecStart runs ratewall daemon" grep -q "^$RATEWALL daemon " <<<"$exec_start"
expect_true "ExecReload sends SIGHUP" grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$UNIT"

mkdir -p "$TMPD/etc" "$TMPD/log"
cat >"$TMPD/etc/gw0.yaml" <<'EOF'
classes:
  - name: web
    ports: [udp/9000]
    source: { packets: { rate: 100/s, burst: 10 } }
EOF
at_exit "rw_force_detach '$GW' gw0 ''"
# shellcheck disable=SC2086 # ExecStart's words, as systemd splits them
nsenter --net="/run/netns/$GW" $exec_start 2>"$TMPD/daemon.err" &
pid=$!
at_exit "kill $pid; wait $pid"
wait_healthy "$GW" 127.0.0.1:9464 || die "the unit's daemon never became healthy: $(cat "$TMPD/daemon.err")"
expect_eq "the unit's daemon attached gw0" "$(rw_get "$GW" gw0 .mode)" native
sent=$(json_get "$(burst "$CL" 198.18.0.1 9000 200 pps 2000)" .sent)
rw_settle "$GW" gw0 "$sent"
sleep 1.7 # the default interval is 1 s: a quiet source is written within 1.5 s
expect_eq "events in the unit's log file add up to the drops" \
	"$(jq -s '[.[].packets] | add' "$TMPD/log/gw0.events.jsonl")" "$(rw_count "$GW" gw0 src_pkt drop)"
mv "$TMPD/log/gw0.events.jsonl" "$TMPD/log/gw0.events.jsonl.1"
kill -HUP "$pid"
for ((i = 0; i < 30; i++)); do [ -e "$TMPD/log/gw0.events.jsonl" ] && break; sleep 0.1; done
expect_true "the reload reopened the log file" test -e "$TMPD/log/gw0.events.jsonl"
rw_daemon_stop "$pid"
expect_eq "stopped with 0" "$RW_DAEMON_RC" 0
expect_eq "the events file is not world-readable" "$(stat -c %a "$TMPD/log/gw0.events.jsonl")" 640
expect_eq "the limiter outlives the unit" "$(rw_get "$GW" gw0 .mode)" native
finish
