#!/usr/bin/env bash
# A real Prometheus server (Debian's) scrapes the daemon's endpoint on the
# gateway namespace's loopback, and the value it stored, read back through
# its HTTP API, must equal the drops the limiter counted. Nothing leaves
# the namespaces: Prometheus listens on that loopback too.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
require_env
require_cmds prometheus curl

daemon_testbed
P=127.0.0.1:9090

cat >"$TMPD/policy.yaml" <<'EOF'
classes:
  - name: web
    ports: [udp/9000]
    source: { packets: { rate: 100/s, burst: 10 } }
EOF
# The example scrape config and alert rules, sped up for the test.
sed -e 's/scrape_interval: 5s/scrape_interval: 1s\n  evaluation_interval: 1s/' \
	-e "s/127.0.0.1:9464/$M/" "$RW_ROOT/examples/prometheus.yml" >"$TMPD/prometheus.yml"
cp "$RW_ROOT/examples/prometheus-rules.yml" "$TMPD/"
expect_true "promtool accepts the example rules" \
	promtool check rules "$TMPD/prometheus-rules.yml" >/dev/null
expect_true "promtool accepts the example config" \
	promtool check config "$TMPD/prometheus.yml" >/dev/null
rw_attach "$GW" gw0 mode native policy "$TMPD/policy.yaml" || die "attach failed"
rw_daemon "$GW" "$TMPD/daemon.err" dev gw0 metrics "$M" events none
wait_healthy "$GW" "$M" || die "the daemon never became healthy: $(cat "$TMPD/daemon.err")"

nsenter --net="/run/netns/$GW" prometheus --config.file="$TMPD/prometheus.yml" \
	--storage.tsdb.path="$TMPD/tsdb" --web.listen-address="$P" \
	>"$TMPD/prometheus.log" 2>&1 &
prom=$!
at_exit "kill $prom; wait $prom"
ready() { http_get "$GW" "http://$P/-/ready" 2>/dev/null | grep -qi ready; }
for ((i = 0; i < 150; i++)); do ready && break; sleep 0.1; done
ready || die "prometheus did not start: $(tail -5 "$TMPD/prometheus.log")"

# query EXPR: the first instant value Prometheus gives for an expression.
query() {
	in_ns "$GW" curl -sS --max-time 5 -G "http://$P/api/v1/query" --data-urlencode "query=$1" |
		jq -r '.data.result[0].value[1] // "none"'
}
# A scrape before the traffic, so that the counters' increase is stored
# (a rate needs a sample from before it).
for ((i = 0; i < 100; i++)); do [ "$(query 'up{job="ratewall"}')" = 1 ] && break; sleep 0.1; done
expect_eq "the target is up before the traffic" "$(query 'up{job="ratewall"}')" 1
sent=$(json_get "$(burst "$CL" 198.18.0.1 9000 500 pps 2000)" .sent)
rw_settle "$GW" gw0 "$sent"
drops=$(rw_count "$GW" gw0 src_pkt drop)
expect_true "some were dropped" test "$drops" -gt 0

q='ratewall_packets_total{class="web",verdict="drop",reason="src_pkt"}'
got=none
for ((i = 0; i < 100; i++)); do
	got=$(query "$q")
	[ "$got" = "$drops" ] && break
	sleep 0.2
done
expect_eq "Prometheus stored the drops the limiter counted" "$got" "$drops"
expect_eq "the policy info series reached Prometheus" \
	"$(query 'count(ratewall_policy_info)')" 1
# The refusal-ratio alert: web refused most of what it got, so the rule
# must fire (pending: it waits 10 minutes before it alerts).
state=none
for ((i = 0; i < 100; i++)); do
	state=$(in_ns "$GW" curl -sS --max-time 5 "http://$P/api/v1/alerts" |
		jq -r '[.data.alerts[] | select(.labels.alertname == "RatewallRefusalRatioHigh"
			and .labels.class == "web") | .state][0] // "none"')
	[ "$state" != none ] && break
	sleep 0.2
done
expect_eq "RatewallRefusalRatioHigh is pending for web" "$state" pending
expect_eq "both rules loaded and healthy" \
	"$(in_ns "$GW" curl -sS --max-time 5 "http://$P/api/v1/rules" |
		jq -r '[.data.groups[].rules[] | select(.health == "ok") | .name] | sort | join(" ")')" \
	"RatewallRefusalRatioHigh RatewallShedSpike"
finish
