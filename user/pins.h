/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Where an attachment's pins live. Interface names are per network
 * namespace, so pins outside the host namespace sit under a directory
 * named after the namespace's cookie, which is never reused:
 *   host netns:  /sys/fs/bpf/ratewall/IFACE/
 *   other netns: /sys/fs/bpf/ratewall/netns:COOKIE/IFACE/
 * ':' cannot appear in an interface name, so the two never collide.
 *
 * bpffs refuses '.' in file names, which interface names may hold (VLANs
 * like eth0.100), so IFACE is the name with '.' written "%2e" and '%'
 * written "%25": eth0.100 is pinned under eth0%2e100. The mapping is
 * reversible and no two names share a directory. The kernel takes a '%'
 * in an interface name for a "%d" template, so no real interface has one
 * and the second escape moves no existing pins.
 */
#ifndef RW_PINS_H
#define RW_PINS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RW_BPFFS "/sys/fs/bpf"
#define RW_PIN_ROOT RW_BPFFS "/ratewall"

#define RW_PIN_LINK "link"
#define RW_PIN_CONFIG "config"
#define RW_PIN_SOURCES "sources"
#define RW_PIN_COUNTERS "counters"
#define RW_PIN_POLICY "policy"
#define RW_PIN_PORTS "ports"
#define RW_PIN_CIDRS "cidrs"
#define RW_PIN_TENANTS "tenants"
#define RW_PIN_TENANT_STATE "tenant_state"
#define RW_PIN_CLASS_STATE "class_state"
#define RW_PIN_SOCKOPS_LINK "sockops_link"
#define RW_PIN_CONNS "conns"
#define RW_PIN_CLASS_CONNS "class_conns"
#define RW_PIN_CONN_EVENTS "conn_events"
#define RW_PIN_CONN_SOCKS "conn_socks"
#define RW_PIN_POLICY_TEXT "policy_text"
#define RW_PIN_TALKERS "talkers"
#define RW_PIN_GLOBAL "global"
#define RW_PIN_EVENTS "events"
#define RW_PIN_EVENT_ENTRIES "event_entries"
#define RW_PIN_EVENT_ACCT "event_acct"
#define RW_PIN_EVENT_STATS "event_stats"
#define RW_PIN_EVENT_OTHER "event_other"
#define RW_PIN_ADAPT "adapt"
#define RW_PIN_QUOTAS "quotas"
#define RW_PIN_QUOTA_COUNTS "quota_counts"

/* An interface name as its pin directory is named, and back. Decoding
 * refuses (-EINVAL) what encoding a valid interface name cannot produce,
 * such as netns:COOKIE. Both return 0 or a negative errno. */
int pins_name_encode(char *buf, size_t len, const char *ifname);
int pins_name_decode(char *buf, size_t len, const char *dirname);

/* Directory holding this namespace's attachments (no trailing slash). */
int pins_ns_dir(char *buf, size_t len, bool init_netns, uint64_t cookie);
int pins_dev_dir(char *buf, size_t len, bool init_netns, uint64_t cookie,
		 const char *ifname);
/* The same for the calling process's network namespace. */
int pins_ns_dir_here(char *buf, size_t len);
int pins_dev_dir_here(char *buf, size_t len, const char *ifname);

/*
 * Creates `dir` and any missing parents. `dir` itself must be new (-EEXIST
 * otherwise): it is what stops two attaches of one name. When it cannot be
 * made, the parents this call created are removed again, so a failed
 * attach leaves no empty ratewall/ or netns:COOKIE/ behind.
 */
int pins_mkdir(const char *dir);

/* dir + "/" + name into buf. */
int pins_path(char *buf, size_t len, const char *dir, const char *name);

/* True when bpffs is mounted at /sys/fs/bpf. */
bool pins_bpffs_mounted(void);

/*
 * Makes sure bpffs is mounted at /sys/fs/bpf, mounting it when it is not
 * and this process shares the host's mount namespace. In another mount
 * namespace (`ip netns exec` is one) a fresh bpffs would vanish with the
 * command and take the attachment with it, so that is refused.
 */
int pins_ensure_bpffs(bool may_mount, bool *mounted);

/* Undoes a mount made by pins_ensure_bpffs when nothing is pinned in it. */
void pins_unmount_if_empty(void);

/*
 * Serialises the commands that change pins (attach, detach, set) across
 * processes with an flock; readers (status) take it shared. It is taken
 * before bpffs is checked or mounted and held until after a failed attach
 * unmounts what it mounted, so the lock lives outside bpffs: a lock on a
 * bpffs that is not mounted yet could not keep two first attaches from
 * mounting one each. /run is root's (unlike /run/lock, where anyone could
 * take the file first and hold it). Returns the fd for pins_unlock, or -errno.
 */
#define RW_LOCK_DIR "/run"
#define RW_LOCK_FILE RW_LOCK_DIR "/ratewall.lock"
int pins_lock(bool exclusive);
/* The shared lock if nobody holds it exclusively now, else -EWOULDBLOCK
 * without a message: for a loop that must not wait on a change. */
int pins_try_lock_shared(void);
/* The same, exclusive: the control loop's writes wait for no one. */
int pins_try_lock_exclusive(void);
void pins_unlock(int fd);

#endif
