// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Accept-queue depth of TCP listeners: one inet_diag dump of the listening
 * sockets per address family over NETLINK_SOCK_DIAG, filtered by local port
 * here rather than with a kernel bytecode filter (listeners are few).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <libmnl/libmnl.h>

#include "accept_queue.h"

/*
 * Room for one dump part: the kernel sizes later parts to the largest read
 * it has seen, and a part that does not fit is lost (MSG_TRUNC), so read
 * with a large buffer as ss does.
 */
#define AQ_RECV_SIZE 32768

struct aq_filter {
	const uint16_t *ports;
	size_t n;
	struct accept_queue *out;
};

static int aq_on_socket(const struct nlmsghdr *nlh, void *data)
{
	const struct inet_diag_msg *msg = mnl_nlmsg_get_payload(nlh);
	struct aq_filter *f = data;
	uint16_t port;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*msg)) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	port = ntohs(msg->id.idiag_sport);
	for (size_t i = 0; i < f->n; i++) {
		if (f->ports[i] != port)
			continue;
		/* For a listener the kernel reports the accept queue as the
		 * receive queue and the backlog limit as the send queue. */
		f->out->depth += msg->idiag_rqueue;
		f->out->backlog += msg->idiag_wqueue;
		f->out->listeners++;
		break; /* a port listed twice still counts its socket once */
	}
	return MNL_CB_OK;
}

/* Dumps the TCP listeners of one family and adds the matching ones to f->out. */
static int aq_dump(struct mnl_socket *nl, uint8_t family, unsigned int seq, void *buf,
		   struct aq_filter *f)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct inet_diag_req_v2 *req;
	unsigned int portid = mnl_socket_get_portid(nl);
	ssize_t len;
	int ret;

	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = family;
	req->sdiag_protocol = IPPROTO_TCP;
	req->idiag_states = 1U << TCP_LISTEN;

	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	/* mnl_cb_run checks seq and portid, and stops at NLMSG_DONE or an error. */
	do {
		len = mnl_socket_recvfrom(nl, buf, AQ_RECV_SIZE);
		if (len < 0)
			return -errno;
		ret = mnl_cb_run(buf, len, seq, portid, aq_on_socket, f);
	} while (ret > MNL_CB_STOP);
	if (ret < 0)
		return errno ? -errno : -EIO;
	return 0;
}

int accept_queue_read(const uint16_t *ports, size_t n, struct accept_queue *out)
{
	static const uint8_t families[] = { AF_INET, AF_INET6 };
	struct aq_filter f = { .ports = ports, .n = n, .out = out };
	struct mnl_socket *nl;
	unsigned int seq = (unsigned int)time(NULL);
	void *buf;
	int err = 0;

	memset(out, 0, sizeof(*out));
	buf = malloc(AQ_RECV_SIZE);
	if (!buf)
		return -ENOMEM;
	/* A socket opened here belongs to the caller's current namespace. */
	nl = mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC);
	if (!nl) {
		err = -errno;
		goto out;
	}
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto out;
	}
	/* A dual-stack listener is an AF_INET6 socket and only shows in that dump. */
	for (size_t i = 0; i < sizeof(families) && !err; i++)
		err = aq_dump(nl, families[i], seq + i, buf, &f);
out:
	if (nl)
		mnl_socket_close(nl);
	free(buf);
	if (err)
		memset(out, 0, sizeof(*out));
	return err;
}
