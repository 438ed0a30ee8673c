/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The one header shared by the XDP program and userspace: map keys and
 * values, verdict reasons and the limits both sides must agree on.
 * Nothing here is duplicated elsewhere, so the two sides cannot drift.
 */
#ifndef RATEWALL_H
#define RATEWALL_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/*
 * Bucket time is kept in ticks of 1/64 ns so that the emission interval of
 * a high rate (1e9 / rate ns) keeps six bits of fraction. 2^64 ticks is
 * about nine years of uptime.
 */
#define RW_TICK_SHIFT 6
#define RW_NS_PER_SEC 1000000000ULL

/* Bounds that keep bucket arithmetic inside 64 bits and the program sane. */
#define RW_RATE_MAX 100000000ULL /* packets per second per key */
#define RW_BURST_MAX 10000000ULL /* packets */
/*
 * A bucket's window (burst x interval, in ticks) stays under 2^60 (about
 * 208 days), so that a TAT of now + window cannot wrap 64 bits before some
 * 8 years of uptime.
 */
#define RW_WINDOW_MAX (1ULL << 60)
#define RW_MAX_ENTRIES_MIN 1024U
#define RW_MAX_ENTRIES_MAX (64U << 20)
#define RW_DEFAULT_MAX_ENTRIES (1U << 20)
#define RW_DEFAULT_RATE 1000ULL
#define RW_DEFAULT_BURST 1000ULL
#define RW_DEFAULT_PREFIX4 32
#define RW_DEFAULT_PREFIX6 64
/*
 * New sources earn an entry in the per-source map only while this global
 * budget has tokens: a flood of spoofed addresses then costs one failed
 * lookup and one read of a shared word per packet, instead of an LRU
 * insert that evicts a real client.
 */
#define RW_DEFAULT_NEW_RATE 10000ULL  /* new sources per second */
#define RW_DEFAULT_NEW_BURST 10000ULL /* new sources at once */
/*
 * Bits of the seen-source filter per per-source map entry (rounded up to a
 * power of two). A clear bit proves a source has no entry, so a packet
 * from a never-seen source skips the lookup in the large per-source table.
 */
#define RW_SEEN_BITS_PER_ENTRY 8

/* How often a bucket update may lose a compare-and-swap race before the
 * packet is refused (and counted as contended) rather than spinning. */
#define RW_CAS_RETRIES 8
/* IPv6 extension headers walked before giving up on finding ports. */
#define RW_MAX_EXT_HDRS 8
/* Route classes: class 0 is the default class, policy classes are 1..15. */
#define RW_MAX_CLASSES 16
/* Class and tenant names, with their NUL. */
#define RW_NAME_MAX 32
/* Tenant ids are 1..RW_MAX_TENANTS-1; 0 means "no tenant". */
#define RW_MAX_TENANTS 1024
/* CIDRs of one policy after allow, deny and tenant prefixes are merged. */
#define RW_MAX_CIDRS 16384
/*
 * The policy lives twice: the packet reads the active slot's index once
 * and judges by that slot alone, while `policy apply` fills the other one
 * and then flips the index with one store. No packet mixes two policies.
 */
#define RW_POLICY_SLOTS 2

/* Why a packet got its verdict. Order is ABI for the counters map. */
enum rw_reason {
	RW_REASON_ADMITTED = 0,  /* within its source's bucket */
	RW_REASON_NON_IP,        /* not IPv4/IPv6: never limited */
	RW_REASON_MALFORMED,     /* truncated or invalid L2/L3/L4 header */
	RW_REASON_SRC_PKT,       /* over its per-source packet bucket */
	RW_REASON_CONTENDED,     /* bucket CAS lost RW_CAS_RETRIES times */
	RW_REASON_NO_STATE,      /* could not create the source's entry */
	RW_REASON_SRC_NEW,       /* unknown source while the new-source budget is spent */
	RW_REASON_DENY,          /* source on the deny list */
	RW_REASON_ALLOW,         /* source on the allow list: never limited */
	RW_REASON_SHED,          /* new connection while its class (or everything) sheds */
	RW_REASON_SRC_SYN,       /* over its per-source new-connection bucket */
	RW_REASON_TENANT_SYN,    /* over its tenant's new-connection bucket */
	RW_REASON_TENANT_PKT,    /* over its tenant's packet bucket */
	RW_REASON_CLASS_SYN,     /* over the class-wide new-connection bucket */
	RW_REASON_CLASS_PKT,     /* over the class-wide packet bucket */
	RW_REASON_SRC_CONN,      /* SYN from a source at its open-connection cap */
	RW_REASON_CLASS_CONN,    /* SYN to a class at its open-connection cap */
	RW_REASON_MAX,
};

enum rw_verdict {
	RW_VERDICT_PASS = 0,
	RW_VERDICT_DROP,
	RW_VERDICT_WOULD_DROP,
	RW_VERDICT_MAX,
};

/* What a class does with a refusal. */
enum rw_class_mode {
	RW_CLASS_ENFORCE = 0, /* drop it */
	RW_CLASS_OBSERVE,     /* count it as would_drop, pass the packet */
	RW_CLASS_SHED,        /* enforce, and refuse every new connection */
	RW_CLASS_MODE_MAX,
};

enum rw_attach_mode {
	RW_MODE_NATIVE = 0,
	RW_MODE_SKB,
};

/*
 * A bucket's two parameters share one 64-bit word: the emission interval
 * in ticks (at most 1e9 << RW_TICK_SHIFT, under 2^40) above the burst (at
 * most RW_BURST_MAX, under 2^24). Readers can never see an interval from
 * one change with a burst from another.
 */
#define RW_LIMIT_BURST_BITS 24
#define RW_LIMIT_BURST_MASK ((1ULL << RW_LIMIT_BURST_BITS) - 1)

static inline __u64 rw_limit_pack(__u64 interval, __u64 burst)
{
	return (interval << RW_LIMIT_BURST_BITS) | (burst & RW_LIMIT_BURST_MASK);
}

static inline __u64 rw_limit_interval(__u64 limit)
{
	return limit >> RW_LIMIT_BURST_BITS;
}

static inline __u64 rw_limit_burst(__u64 limit)
{
	return limit & RW_LIMIT_BURST_MASK;
}

#define RW_COUNTER_SLOTS (RW_MAX_CLASSES * RW_REASON_MAX * RW_VERDICT_MAX)

static inline __u32 rw_counter_index(__u32 class_id, __u32 reason, __u32 verdict)
{
	return (class_id * RW_REASON_MAX + reason) * RW_VERDICT_MAX + verdict;
}

struct rw_counter {
	__u64 packets;
	__u64 bytes;
};

/* Per-source bucket key: the source address masked to the configured
 * prefix. IPv4 uses addr[0] only; the rest stays zero. */
struct rw_src_key {
	__u32 addr[4]; /* network byte order */
	__u16 class_id;
	__u8 family;   /* 4 or 6 */
	__u8 pad;
};

/*
 * A key's hash: seeded multiply-xor over its five words, different from
 * the map's own hash and keyed by a seed drawn at attach, so a sender
 * cannot aim at another source's filter bit or talker slot. The program
 * computes it once per packet for both.
 */
static inline __u32 rw_key_hash(const struct rw_src_key *key, __u64 seed)
{
	const __u32 *w = (const __u32 *)key;
	__u64 h = seed;

	for (int i = 0; i < (int)(sizeof(*key) / sizeof(__u32)); i++)
		h = (h ^ w[i]) * 0x9E3779B97F4A7C15ULL;
	return (__u32)(h ^ (h >> 32));
}

/*
 * The filter bit of a key: the hash's low bits. Bits are set before an
 * entry is inserted and never cleared, so "bit clear" always means "no
 * entry"; anything that inserts into the per-source map must set the bit
 * first.
 */
static inline __u32 rw_seen_bit(const struct rw_src_key *key, __u64 seed, __u32 mask)
{
	return rw_key_hash(key, seed) & mask;
}

/* Per (source, class) bucket state: GCRA theoretical arrival times, in ticks. */
struct rw_src_state {
	__u64 pkt_tat;
	__u64 syn_tat;
};

/*
 * The heaviest sources, kept approximately at a fixed cost so that `client
 * top` never scans the per-source table. Per CPU, a source hashes to one
 * slot: its packets add to the slot it holds; another source's packet
 * wears the holder's weight down by one and takes the slot when it reaches
 * zero (Misra-Gries per slot). A source sending more than the rest of its
 * slot together keeps it; packets and drops count from when it took it.
 * The weight halves per epoch (2^33 ns of CLOCK_MONOTONIC, 8.6 s) the
 * holder was idle, so an old flood ages out; readers skip holders idle for
 * more than RW_TALKER_IDLE_EPOCHS.
 */
#define RW_TALKER_SLOTS 4096
#define RW_TALKER_EPOCH_SHIFT 33
#define RW_TALKER_IDLE_EPOCHS 7

struct rw_talker {
	struct rw_src_key key;
	__u32 epoch;   /* CLOCK_MONOTONIC >> RW_TALKER_EPOCH_SHIFT at its last timed packet */
	__u64 weight;
	__u64 packets;
	__u64 drops;   /* dropped or would-be dropped */
};

/* A key's talker slot: the top 12 bits of its hash (rw_key_hash). */
static inline __u32 rw_talker_slot(__u32 hash)
{
	return hash >> (32 - 12);
}

/*
 * Destination port -> class id, 64 ports per array entry so that the whole
 * table of one slot is 2 protocols x 1024 entries (128 KiB).
 */
#define RW_PORTS_PER_ENTRY 64
#define RW_PORT_ENTRIES_PER_PROTO (65536 / RW_PORTS_PER_ENTRY)
enum rw_port_proto { RW_PROTO_TCP = 0, RW_PROTO_UDP, RW_PROTO_MAX };

struct rw_port_classes {
	__u8 class_id[RW_PORTS_PER_ENTRY];
};

static inline __u32 rw_port_index(__u32 slot, __u32 proto, __u32 port)
{
	return (slot * RW_PROTO_MAX + proto) * RW_PORT_ENTRIES_PER_PROTO +
	       port / RW_PORTS_PER_ENTRY;
}

/*
 * One LPM trie answers allow, deny and tenant at once: userspace merges the
 * three lists so that each prefix carries what its longest match in each
 * list says. The slot and family lead the key, so both policies and both
 * families share one trie: prefixlen counts 32 bits of (slot, family, pad)
 * before the address bits.
 */
#define RW_CIDR_KEY_HEAD_BITS 32
struct rw_cidr_key {
	__u32 prefixlen;
	__u8 slot;
	__u8 family;   /* 4 or 6 */
	__u8 pad[2];
	__u32 addr[4]; /* network byte order; IPv4 in addr[0] */
};

enum rw_list { RW_LIST_NONE = 0, RW_LIST_ALLOW, RW_LIST_DENY };

struct rw_cidr_info {
	__u16 tenant_id; /* 0: no tenant */
	__u8 list;       /* enum rw_list */
	__u8 pad;
};

/* A class's limits in one policy slot: rw_limit_pack() words, 0 = no bucket. */
struct rw_class_limits {
	__u64 src_pkt;   /* per source: packets */
	__u64 src_syn;   /* per source: new TCP connections (SYN without ACK) */
	__u64 class_pkt; /* the whole class: packets */
	__u64 class_syn; /* the whole class: new TCP connections */
	__u32 src_conn;  /* per source: open TCP connections; 0 = no cap */
	__u32 class_conn; /* the whole class: open TCP connections; 0 = no cap */
	__u8 mode;       /* enum rw_class_mode */
	__u8 control_shed; /* 1: the control loop sheds the class's new connections */
	__u8 quota_pkt;  /* class_pkt is shared by the fleet: its rw_quota id; 0: local */
	__u8 quota_syn;  /* the same for class_syn */
	__u8 pad[4];
};

/*
 * One policy slot. The fast path reads one class's limits and the two
 * "any CIDRs" flags; the rest describes the policy for status.
 */
struct rw_policy {
	struct rw_class_limits classes[RW_MAX_CLASSES];
	__u8 has_cidrs4;     /* 0: skip the trie for IPv4 sources */
	__u8 has_cidrs6;
	__u8 has_ports;      /* 0: no class claims a port, skip the port table */
	__u8 pad;
	__u32 event_interval_ms; /* refusal events: at most one per (source, limit) per this;
				  * 0: none (the refusal path skips them) */
	/* read by userspace only */
	__u64 generation;    /* counts applies since attach; 1 is the first */
	__u64 applied_at_ns; /* CLOCK_REALTIME */
	__u32 n_classes;     /* including the default class */
	__u32 n_tenants;
	__u32 n_cidrs;
	__u32 live_edits;    /* command-line changes since a policy file was applied */
	__u32 text_len;      /* bytes of this slot's text in rw_policy_text */
	__u8 hashed_client_ids; /* events name clients by keyed hash: copied into each event */
	__u8 pad3[3];
	__u8 hash[32];       /* SHA-256 of the compiled policy, see policy_hash() */
	char class_names[RW_MAX_CLASSES][RW_NAME_MAX]; /* also copied into refusal events */
};

/*
 * The policy of each slot as canonical YAML, what `policy show` prints and
 * what a command-line change edits: written with the slot before the
 * switch, so the text and the limits in force never disagree. Kept in
 * chunks in a hash without preallocation, so a small policy costs little.
 */
#define RW_POLICY_TEXT_CHUNK 16384
#define RW_POLICY_TEXT_CHUNKS 256 /* at most 4 MiB of text a slot */

struct rw_policy_text {
	char bytes[RW_POLICY_TEXT_CHUNK];
};

static inline __u32 rw_policy_text_key(__u32 slot, __u32 chunk)
{
	return slot << 16 | chunk;
}

/* A tenant's limits in one policy slot; 0 = no bucket. */
struct rw_tenant_limits {
	__u64 pkt;                       /* all its sources and classes together */
	__u64 syn;
	__u64 class_pkt[RW_MAX_CLASSES]; /* all its sources, one class */
	__u64 class_syn[RW_MAX_CLASSES];
	/* buckets shared by the fleet: their rw_quota ids; 0: local */
	__u8 quota_pkt;
	__u8 quota_syn;
	__u8 quota_class_pkt[RW_MAX_CLASSES];
	__u8 quota_class_syn[RW_MAX_CLASSES];
	__u8 pad[6];
	char name[RW_NAME_MAX];          /* userspace only */
};

static inline __u32 rw_tenant_index(__u32 slot, __u32 tenant_id)
{
	return slot * RW_MAX_TENANTS + tenant_id;
}

/*
 * A tenant's bucket state, per slot like its limits (rw_tenant_index):
 * tenant ids follow the order of the tenants list, so a change that
 * removes one moves the later ones. Before a switch the new slot's states
 * are copied from the live slot by tenant name, so every tenant keeps its
 * buckets and no packet ever spends from another tenant's state.
 */
struct rw_tenant_state {
	__u64 pkt_tat;
	__u64 syn_tat;
	__u64 class_pkt_tat[RW_MAX_CLASSES];
	__u64 class_syn_tat[RW_MAX_CLASSES];
};

/* A class-wide bucket's state; one cache line each, so classes never share one. */
struct rw_class_state {
	__u64 pkt_tat;
	__u64 syn_tat;
	__u64 pad[6];
};

/*
 * Bumped whenever the pinned maps change shape, so that a build never
 * reads another build's attachment as its own (the config's size alone
 * misses changes that keep it).
 */
#define RW_CONFIG_LAYOUT 10

/*
 * Live configuration, one entry in an array map. The program reads the
 * bucket fields on every packet, so a change applies to every key at its
 * next packet. The remaining fields describe the attachment for status.
 */
struct rw_config {
	/* read by the fast path */
	__u32 policy_slot;    /* the active rw_policy slot, 0 or 1 */
	__u32 mask4;          /* network byte order */
	__u32 mask6[4];       /* network byte order */
	__u8 malformed_drop;  /* 1: drop malformed frames; 0: pass them */
	__u8 shed_all;        /* 1: every class sheds new connections */
	__u8 pad0[6];
	__u64 new_limit;      /* rw_limit_pack() of the global new-source budget */
	__u64 seen_seed;      /* seed of rw_seen_bit(), random per attach */
	__u32 seen_mask;      /* filter bits - 1 (a power of two minus one) */
	__u32 pad2;
	/* read by userspace only */
	__u64 new_rate;       /* new sources per second */
	__u64 new_burst;      /* new sources */
	__u32 prefix4;
	__u32 prefix6;
	__u32 max_entries;
	__u32 ifindex;
	__u32 attach_mode;    /* enum rw_attach_mode */
	__u32 pad1;
	__u64 netns_cookie;   /* also read by sockops: only this namespace's connections count */
	__u64 attached_at_ns; /* CLOCK_REALTIME at attach */
	__u64 cgroup_id;      /* the cgroup v2 directory sockops is attached to */
	__u32 conn_entries;   /* size of the connection-count table */
	__u32 layout;         /* RW_CONFIG_LAYOUT of the build that attached */
	__u64 uncounted_walked; /* table_full + lost connection events at the last walk */
	char cgroup_path[256]; /* that directory, for status (cut if longer) */
};

/*
 * State shared by every CPU, written only when a new source is admitted:
 * kept apart from rw_config so that those writes never bounce the config
 * line that every packet reads.
 */
struct rw_global_state {
	__u64 new_src_tat;    /* GCRA TAT of the new-source budget, in ticks */
	__u64 pad[7];
	__u64 event_src_tat;  /* GCRA TAT of the event-entry budget, its own line */
};

/*
 * Refusal events. A refused packet adds one to its (source, class,
 * reason, verdict) entry; the first refusal of an entry, and then at most
 * one per interval, sends an event through the ring buffer carrying the
 * entry's packet count so far. The daemon writes the difference from what
 * it wrote last (kept in the userspace-only rw_event_acct map, so that a
 * restart neither repeats nor loses any), and after a quiet interval it
 * writes what came after the last event itself. A flood of millions of
 * packets per second is so a few lines per source per second.
 *
 * Entries are made for new sources only while a budget of
 * RW_EVENT_NEW_RATE a second lasts, so a spoofed flood costs no LRU
 * insert per packet; past it, a refusal counts under its class's "other
 * sources". So do all `src_new` refusals: those sources have no state by
 * definition. Other sources are counted per CPU (rw_event_other, indexed
 * like the counters), so that a flood spread over CPUs never bounces one
 * shared line; their key has family 0 and the CPU in addr[0].
 */
#define RW_EVENT_ENTRIES 16384
#define RW_EVENT_RING_BYTES (256 * 1024)
#define RW_EVENT_NEW_RATE 1000ULL  /* new entries per second */
#define RW_EVENT_NEW_BURST 1000ULL
#define RW_DEFAULT_EVENT_INTERVAL_MS 1000U
#define RW_EVENT_INTERVAL_MIN_MS 100U
#define RW_EVENT_INTERVAL_MAX_MS 3600000U

struct rw_event_key {
	__u32 addr[4];  /* the source address as sent, unmasked; other sources: the CPU, 0, 0, 0 */
	__u16 class_id;
	__u8 family;    /* 4, 6, or 0 for a class's other sources */
	__u8 reason;    /* enum rw_reason */
	__u8 verdict;   /* RW_VERDICT_DROP or RW_VERDICT_WOULD_DROP */
	__u8 pad[3];
};

struct rw_event_entry {
	__u64 born_ns;  /* CLOCK_MONOTONIC when made: tells a remade entry from the old one */
	__u64 sent_ns;  /* when the kernel last sent an event for it; 0: never */
	__u64 packets;  /* refusals since born */
};

/* What the ring buffer carries: an entry's state when it was sent. */
struct rw_event {
	struct rw_event_key key;
	__u64 ts_ns;    /* CLOCK_MONOTONIC */
	__u64 born_ns;
	__u64 packets;  /* the entry's count when sent, not the count since the last event */
	/* the class's name in the policy that judged the packet: read later,
	 * the id may belong to another class by then */
	char class_name[RW_NAME_MAX];
	__u8 hashed_client_ids; /* that policy's: the address must not be written */
	__u8 pad[7];
};

/* What the daemon has written of an entry (userspace only). */
struct rw_event_acct {
	__u64 born_ns;
	__u64 written;  /* packets covered by lines already written */
};

/* The event path's own counters, per CPU. Order is ABI. */
enum rw_event_stat {
	RW_EVSTAT_SENT = 0,   /* events put into the ring buffer */
	RW_EVSTAT_RING_FULL,  /* events not sent: the ring buffer was full (the packets are
			       * carried by the entry's next event) */
	RW_EVSTAT_NO_ENTRY,   /* refusals not counted in any entry (the table refused an insert) */
	RW_EVSTAT_MAX,
};

/*
 * Open TCP connections, counted by sockops from passive establishment
 * until the gateway closes its side (the socket leaves ESTABLISHED and
 * CLOSE_WAIT) or the connection is reset. The per-source table is a plain
 * hash keyed by rw_src_key (never LRU: an evicted count would silently
 * lift the cap), holding the sources of classes with a per-source cap.
 *
 * The kernel hands a deleted hash entry's memory to the next insert at
 * once, so a CPU still holding a pointer from an earlier lookup may be
 * looking at another key's entry. Hence each entry carries its own key and
 * one word changed only by compare-and-swap: a random incarnation drawn
 * when the entry is made, the count, and a "gone" bit. A change applies
 * only while the word still carries the incarnation it was read with and
 * the entry still carries its key. The CPU whose change takes a count to
 * zero sets "gone" in that same compare-and-swap and alone deletes the
 * entry; a CPU that meets a gone entry looks the key up again. The kernel
 * fills a reused element before it links it into the table, so an open
 * keeps its count only if the table's entry for the key is the one it
 * changed, and gives it back otherwise.
 */
struct rw_conn_entry {
	struct rw_src_key key;
	__u32 pad;
	__u64 word;
};

#define RW_CONN_GONE 1ULL
#define RW_CONN_ONE 2ULL /* one connection, in the word */

static inline __u64 rw_conn_word(__u32 incarnation, __u32 open, int gone)
{
	return (__u64)incarnation << 32 | (__u64)(open & 0x7fffffff) << 1 | (gone ? RW_CONN_GONE : 0);
}

static inline __u32 rw_conn_incarnation(__u64 word)
{
	return (__u32)(word >> 32);
}

static inline __u32 rw_conn_open(__u64 word)
{
	return ((__u32)word & 0xffffffffU) >> 1;
}

static inline int rw_conn_gone(__u64 word)
{
	return (word & RW_CONN_GONE) != 0;
}

static inline int rw_src_key_equal(const struct rw_src_key *a, const struct rw_src_key *b)
{
	return a->addr[0] == b->addr[0] && a->addr[1] == b->addr[1] &&
	       a->addr[2] == b->addr[2] && a->addr[3] == b->addr[3] &&
	       a->class_id == b->class_id && a->family == b->family;
}

/* Tries of one count change before it is given up as lost: each retry
 * means another CPU changed, made or deleted the source's entry meanwhile. */
#define RW_CONN_RETRIES 128
/* Lookups an open spends waiting for a gone entry's delete (each ~40 ns). */
#define RW_CONN_GONE_WAIT 4096
#define RW_DEFAULT_CONN_ENTRIES 65536U
#define RW_CONN_ENTRIES_MIN 64U
#define RW_CONN_ENTRIES_MAX (16U << 20)
#define RW_CONN_CAP_MAX 1000000U

/* A class's open connections, every source together; one cache line each. */
struct rw_class_conns {
	__u64 open;
	__u64 pad[7];
};

/* What a counted socket remembers (in its socket storage): the key it was
 * counted under, so that it is uncounted there whatever changed since. */
struct rw_conn_sock {
	struct rw_src_key key;
	__u32 counted;   /* rw_conn_held bits: the counts it holds */
};

enum rw_conn_held {
	RW_CONN_IN_CLASS = 1,  /* one of its class's open connections */
	RW_CONN_IN_SOURCE = 2, /* one of its source's, in the per-source table */
};

/* What happened to connections, by event; a per-CPU array. Order is ABI. */
enum rw_conn_event {
	RW_CONN_OPENED = 0, /* counted at passive establishment */
	RW_CONN_CLOSED,     /* uncounted when the gateway closed it or it was reset */
	RW_CONN_TABLE_FULL, /* counted in its class only: the per-source table is full */
	RW_CONN_LOST,       /* a count not kept: no socket storage, or RW_CONN_RETRIES
			     * tries all met another CPU's change */
	RW_CONN_SEEDED,     /* counted by a sync: it was open before the attach */
	RW_CONN_MOVED,      /* recounted by a sync under the class a new policy gives it */
	RW_CONN_EVENT_MAX,
};

/*
 * The adaptive control loop's state (README "The adaptive control loop").
 * The daemon writes it each time it acts, the CLI shows it, and every
 * policy install reads it, so that a new policy starts from the live
 * multipliers rather than jumping back to its written rates. Classes are
 * found by name, since an apply may renumber them. The program never
 * reads it: the multipliers are already in the limits it reads. Signal
 * values are integers (micro-units); -1 means unknown.
 */
#define RW_ADAPT_PPM 1000000U

struct rw_adapt_class {
	char name[RW_NAME_MAX];  /* "" : unused */
	__u32 mult_ppm;          /* live rate = written rate x mult_ppm / RW_ADAPT_PPM */
	__u8 shed;               /* the loop sheds its new connections now */
	__u8 reason;             /* why it last moved (the controller's reason) */
	__u8 pad[2];
	__u64 changed_at_ns;     /* CLOCK_REALTIME of the last change */
	__u64 changes;           /* multiplier changes since attach */
};

struct rw_adapt {
	struct rw_adapt_class classes[RW_MAX_CLASSES];
	__u32 controller;        /* the loop's controller kind; 0: no loop has run */
	__u32 interval_ms;
	__u8 shed;
	__u8 shed_reason;
	__u8 pad[6];
	__u64 shed_changes;
	__u64 samples;           /* samples the loop has acted on */
	__u64 sampled_at_ns;     /* CLOCK_REALTIME of the last one */
	__s64 health;            /* 0 none, 1 ok, 2 failed */
	__s64 health_status;
	__s64 probe_us;
	__s64 latency_us;
	__s64 error_ppm;
	__s64 cpu_ppm;
	__s64 queue_depth;
	__s64 queue_backlog;
	__s64 listen_drops;
	__s64 target_us;         /* the latency the controller steers to */
	char signal_errors[512]; /* why configured signals are unknown, "; "-separated */
};

/*
 * Buckets that several gateways share (`scope: global`, README "Several
 * gateways, one quota"). The policy's word of such a bucket holds the
 * whole fleet's limit, for display; the program judges by this gateway's
 * share of it instead, which the daemon writes after each sync with the
 * shared store, under a lease. Without a live lease (no daemon, a store
 * that does not answer, a daemon that died) the safe share is in force,
 * so a lost coordinator can never leave a share running unbounded.
 * Indexed by rw_quota_index(slot, id); ids are 1..RW_MAX_QUOTAS-1.
 */
#define RW_MAX_QUOTAS 64
#define RW_QUOTA_NAME_MAX 80 /* "tenant/NAME/CLASS/packets" and its NUL */

struct rw_quota {
	/* read by the fast path; never 0 for a bucket in use */
	__u64 share;       /* rw_limit_pack() of this gateway's share, while now < lease_until */
	__u64 lease_until; /* bucket clock (ticks, like a TAT); 0: no lease */
	__u64 safe;        /* rw_limit_pack() of the safe share, in force without a lease */
	/* read by userspace only */
	__u64 limit;       /* rw_limit_pack() of the fleet's bucket, as written */
	__u32 safe_ppm;    /* the safe share, parts per million of the fleet's rate and burst */
	__u32 replicas;    /* gateways in the fleet at the last sync; 0: never synced */
	__u32 mismatched;  /* gateways declaring another rate or burst for it (a rollout) */
	__u32 pad;
	__u64 synced_at_ns;  /* CLOCK_REALTIME of the last sync that answered */
	__u64 safe_since_ns; /* CLOCK_REALTIME the daemon put it in safe share; 0: shared */
	__u64 degraded_ns;   /* time spent in safe share while a daemon ran */
	__u64 to_safe;       /* switches from shared to safe */
	__u64 share_mrate;   /* the share's rate, in thousandths a second */
	char name[RW_QUOTA_NAME_MAX]; /* "" : unused */
};

/* What reached a shared bucket and what it admitted, per CPU and per
 * rw_quota_index(): the daemon's measure of this gateway's demand. */
struct rw_quota_count {
	__u64 reached;
	__u64 admitted;
};

static inline __u32 rw_quota_index(__u32 slot, __u32 id)
{
	return slot * RW_MAX_QUOTAS + id;
}

#endif /* RATEWALL_H */
