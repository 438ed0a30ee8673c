# ratewall build. `make` builds build/ratewall; see README.md for the rest.
CLANG    ?= clang
CC       ?= gcc
BPFTOOL  ?= bpftool
BUILD    := build
ARCH     := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

BPF_CFLAGS := -O2 -g -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) \
	-Wall -Wextra -Werror -Iinclude -Ivmlinux -Ibpf
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wno-missing-field-initializers \
	-Iinclude -Iuser -I$(BUILD)
LDLIBS  := -lbpf -lelf -lz -ljson-c -lyaml -lcrypto -lm -lmnl -lmicrohttpd -lcurl -lhiredis -lpthread

USER_LIB_SRCS := user/args.c user/limits.c user/pins.c user/counters.c \
	user/attachment.c user/loader.c user/status.c user/netns.c \
	user/privileges.c user/policy_parse.c user/policy_values.c user/policy_checks.c \
	user/policy_errors.c user/policy_compile.c user/policy_apply.c user/policy_builtin.c \
	user/policy_show.c user/policy_maps.c user/map_mmap.c user/conns.c \
	user/conns_show.c user/percpu.c user/policy_emit.c user/policy_control.c user/live_rates.c
# The command line: one file per object, and what they share.
USER_LIB_SRCS += user/cli.c user/cli_link.c user/cli_class.c user/cli_tenant.c \
	user/cli_lists.c user/cli_client.c user/cli_stats.c user/cli_policy.c \
	user/cli_policy_view.c user/cli_buckets.c user/policy_load.c user/explain.c \
	user/talkers.c user/log.c user/policy_cidrs.c user/counters_show.c
# The daemon: metrics, refusal events and what they read.
USER_LIB_SRCS += user/accept_queue.c user/daemon.c user/daemon_opts.c user/event_stream.c \
	user/event_line.c user/event_sink.c user/client_id.c user/metrics.c user/metrics_http.c \
	user/event_maps.c user/map_count.c user/clocks.c
USER_LIB_SRCS += user/controller.c user/signals.c user/daemon_control.c user/metrics_control.c \
	user/control_show.c
USER_LIB_SRCS += user/prom_text.c user/http_fetch.c user/host_cpu.c user/listen_stats.c user/sampler.c
# Quotas shared by several gateways through Redis.
USER_LIB_SRCS += user/quota_redis.c user/quota_share.c user/policy_quota.c user/daemon_quota.c \
	user/metrics_quota.c user/quota_show.c user/cli_quota.c
USER_LIB_OBJS := $(patsubst user/%.c,$(BUILD)/user/%.o,$(USER_LIB_SRCS))
BPF_OBJS := $(BUILD)/ratewall.bpf.o $(BUILD)/conns.bpf.o
SKELS := $(BUILD)/ratewall.skel.h $(BUILD)/conns.skel.h

TEST_UNIT := $(BUILD)/tests/unit_args $(BUILD)/tests/unit_limits $(BUILD)/tests/unit_pins \
	$(BUILD)/tests/unit_policy_parse $(BUILD)/tests/unit_policy_compile \
	$(BUILD)/tests/unit_policy_emit $(BUILD)/tests/unit_bucket_math \
	$(BUILD)/tests/unit_accept_queue $(BUILD)/tests/unit_map_count $(BUILD)/tests/unit_client_id \
	$(BUILD)/tests/unit_controller $(BUILD)/tests/unit_prom_text $(BUILD)/tests/unit_host_signals \
	$(BUILD)/tests/unit_sampler $(BUILD)/tests/unit_live_rates $(BUILD)/tests/unit_quota_redis \
	$(BUILD)/tests/unit_quota_share
TEST_BPF := $(BUILD)/tests/bpf_verdicts $(BUILD)/tests/bpf_new_sources $(BUILD)/tests/bpf_policy \
	$(BUILD)/tests/bpf_concurrency $(BUILD)/tests/bpf_conn_caps $(BUILD)/tests/bpf_conn_race \
	$(BUILD)/tests/bpf_explain $(BUILD)/tests/bpf_events $(BUILD)/tests/bpf_quota
TEST_TOOLS := $(BUILD)/tests/udp_burst $(BUILD)/tests/udp_sink $(BUILD)/tests/tcp_server \
	$(BUILD)/tests/tcp_clients $(BUILD)/tests/test_gateway $(BUILD)/tests/load_gen
BENCH := $(BUILD)/bench/prog_run_cost $(BUILD)/bench/baseline.bpf.o $(BUILD)/bench/xdp_gen

.PHONY: all deps vmlinux test demo bench bench-adaptive bench-quota clean install
# A recipe that fails half way must not leave a file that looks finished.
.DELETE_ON_ERROR:
# Keep BPF objects: the skeleton embeds them and make would delete them as intermediates.
.SECONDARY: $(BPF_OBJS) $(BUILD)/tests/conn_race.bpf.o $(BUILD)/bench/baseline.bpf.o $(BUILD)/bench/rotate.bpf.o \
	$(BUILD)/bench/gen.bpf.o
all: $(BUILD)/ratewall

deps:
	@./tools/deps.sh

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/vmlinux.h.tmp
	mv vmlinux/vmlinux.h.tmp vmlinux/vmlinux.h

$(BUILD)/%.bpf.o: bpf/%.bpf.c bpf/*.h include/ratewall.h vmlinux/vmlinux.h | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bench/%.bpf.o: bench/%.bpf.c bench/*.h include/ratewall.h | $(BUILD)
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -Ibench -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst .bpf.o,,$(notdir $<))_bpf > $@.tmp
	mv $@.tmp $@

# The shared store's Lua script, as a C string the client sends.
$(BUILD)/quota_script.h: user/quota_script.lua | $(BUILD)
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $< > $@.tmp
	mv $@.tmp $@

$(BUILD)/user/quota_redis.o: $(BUILD)/quota_script.h

$(BUILD)/user/%.o: user/%.c user/*.h include/ratewall.h $(SKELS) | $(BUILD)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libratewall.a: $(USER_LIB_OBJS)
	ar rcs $@ $^

$(BUILD)/ratewall: $(BUILD)/user/main.o $(BUILD)/libratewall.a
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/tests/unit_%: tests/unit/test_%.c tests/unit/*.h $(BUILD)/libratewall.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< -o $@ $(BUILD)/libratewall.a $(LDLIBS) -lcmocka

$(BUILD)/tests/%.bpf.o: tests/bpf/%.bpf.c bpf/*.h include/ratewall.h vmlinux/vmlinux.h | $(BUILD)
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# Test-only BPF programs, loaded by their test through a skeleton.
$(BUILD)/tests/bpf_conn_race: $(BUILD)/tests/conn_race.skel.h

$(BUILD)/tests/bpf_%: tests/bpf/test_%.c tests/bpf/*.h $(BUILD)/libratewall.a $(SKELS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/bpf $< -o $@ $(BUILD)/libratewall.a $(LDLIBS) -lcmocka -lpthread

$(BUILD)/tests/%: tests/tools/%.c tests/tools/*.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< -o $@

# The adaptive benchmark's gateway (threads) and load generator (libm).
$(BUILD)/tests/test_gateway: tests/tools/test_gateway.c tests/tools/*.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< -o $@ -lpthread

$(BUILD)/tests/load_gen: tests/tools/load_gen.c tests/tools/*.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< -o $@ -lm

$(BUILD)/bench/prog_run_cost: bench/prog_run_cost.c bench/udp_frame.h $(BUILD)/libratewall.a \
		$(SKELS) $(BUILD)/bench/rotate.skel.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Ibench $< -o $@ $(BUILD)/libratewall.a $(LDLIBS)

$(BUILD)/bench/xdp_gen: bench/xdp_gen.c bench/gen.h bench/udp_frame.h $(BUILD)/bench/gen.skel.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Ibench $< -o $@ $(LDLIBS) -lpthread

$(BUILD):
	@mkdir -p $(BUILD)

test: deps
	@$(MAKE) --no-print-directory $(BUILD)/ratewall $(TEST_UNIT) $(TEST_BPF) $(TEST_TOOLS) \
		$(BUILD)/bench/xdp_gen
	@UNIT_TESTS="$(TEST_UNIT)" BPF_TESTS="$(TEST_BPF)" ./tests/run.sh

demo: deps
	@$(MAKE) --no-print-directory $(BUILD)/ratewall $(TEST_TOOLS)
	@./tests/demo.sh

bench:
	@./tools/deps.sh bench
	@$(MAKE) --no-print-directory $(BUILD)/ratewall $(BENCH)
	@./bench/run.sh

bench-adaptive:
	@./tools/deps.sh bench
	@$(MAKE) --no-print-directory $(BUILD)/ratewall $(BUILD)/tests/test_gateway $(BUILD)/tests/load_gen
	@./bench/adaptive.sh

bench-quota:
	@./tools/deps.sh
	@$(MAKE) --no-print-directory $(BUILD)/ratewall $(BUILD)/tests/udp_burst \
		$(BUILD)/bench/prog_run_cost $(BUILD)/bench/baseline.bpf.o
	@./bench/quota.sh

PREFIX ?= /usr/local
install: $(BUILD)/ratewall
	install -D -m 0755 $(BUILD)/ratewall $(DESTDIR)$(PREFIX)/sbin/ratewall
	install -D -m 0644 man/ratewall.8 $(DESTDIR)$(PREFIX)/share/man/man8/ratewall.8
	install -D -m 0644 completion/ratewall.bash $(DESTDIR)/usr/share/bash-completion/completions/ratewall
	@mkdir -p $(DESTDIR)$(PREFIX)/lib/systemd/system
	sed 's|/usr/local/sbin/|$(PREFIX)/sbin/|' systemd/ratewall@.service \
		> $(DESTDIR)$(PREFIX)/lib/systemd/system/ratewall@.service

clean:
	rm -rf $(BUILD)
