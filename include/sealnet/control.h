/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The control protocol between sealnetd and the sealnet CLI: the one
 * description of every message and every field.  The field names are
 * written only in lib/control/codec.c, which encodes and decodes the
 * structures below; sealnetd (daemon/control_server.c) and the CLI
 * (cli/cmd_status.c, cli/cmd_monitor.c) use the codec and the client
 * (lib/control/client.c), never JSON field names of their own.
 *
 * TRANSPORT
 *   A unix stream socket, default SN_CONTROL_SOCKET_DEFAULT (sealnetd's
 *   "control_socket"), mode 0600 in a directory of mode 0700: root only.
 *   No key material ever crosses it.  Every message is one JSON object
 *   on one line, ended by "\n" (LF).  The client sends one request line
 *   of at most SN_CONTROL_MAX_REQ bytes; sealnetd answers
 *     - "status":  one answer line, then closes;
 *     - "monitor": event lines, one per line, until the client closes;
 *     - "workflow-apply": one apply answer line, then closes;
 *   and to anything else one error line, then closes.  Unknown fields
 *   must be ignored by readers (fields may be added; none is removed or
 *   changes type without a new command).
 *
 * REQUEST  {"cmd": "status"} | {"cmd": "monitor"}
 *   cmd        string   SN_CONTROL_CMD_STATUS or SN_CONTROL_CMD_MONITOR
 *
 * REQUEST  {"cmd": "workflow-apply", "manifest": PATH, "signatures": PATH}
 *   (sealnet workflow apply; a sealnetd running from a manifest only)
 *   manifest    string  absolute path of a new manifest version, readable
 *                       by sealnetd
 *   signatures  string  absolute path of its signature envelope
 *   sealnetd reads both once, checks them as for SIGHUP (docs/sealnetd.md,
 *   "Running from a workflow manifest"), applies the new version and then
 *   writes the same bytes over the manifest and envelope it runs from
 *   (temporary file + rename), so a restart keeps the new version.
 * APPLY ANSWER  {"result": R, "reason": TEXT, "version": N}
 *   result   string  "ok" (applied), "unchanged" (the running digest),
 *                    "refused" (nothing changed: reason says why; the
 *                    details are in sealnetd's log), "failed" (the rules
 *                    could not be installed: send it again)
 *   reason   string  "" when ok; with ok, a non-empty reason says the
 *                    files could not be saved (a restart would load the
 *                    previous version)
 *   version  int     the version running after the request
 *
 * ERROR ANSWER (to any request)  {"error": TEXT}
 *   error      string   what was wrong: "unknown request (expected ...)",
 *                       "request too long", "too many monitors"
 *
 * STATUS ANSWER (to "status"; sealnet status --json prints it indented,
 * keys sorted)
 *   node             string  this node's name (config "node")
 *   id               int     this node's id (config "id")
 *   interface        string  the protected interface
 *   mode             string  "static" (configured keys: the insecure
 *                            test mode) or "make" (MAKE)
 *   egress_prog_id   int     kernel id of the attached egress program,
 *                            0 if none
 *   ingress_prog_id  int     same, ingress
 *   dataplane        string  "measured", or "TAMPERED" once the watchdog
 *                            found the data plane changed: a foreign
 *                            program or filter on the interface's hooks,
 *                            or a map sealnetd writes edited behind its
 *                            back (keys revoked; docs/sealnetd.md)
 *   mlog_digest      string  runtime measurement log digest, SHA-384 hex
 *   mlog_events      int     events in the measurement log
 *   peers            array   one PEER object per configured peer, in
 *                            configuration order
 *   drops            object  one DROP COUNTER per drop reason except NONE,
 *                            keyed by the reason's name (sn_drop_name:
 *                            "BAD_TAG", "POLICY_EGRESS", ...)
 *   dataplane_reason string  what the watchdog found (sn_dp_check_attached:
 *                            which hook, filter or map); only while
 *                            "dataplane" is "TAMPERED", absent otherwise
 *   watchdog_tick_us int     how long the watchdog's last check took,
 *                            microseconds; 0 before the first check
 *
 * PEER (in "peers")
 *   name          string  the peer's name
 *   id            int     the peer's node id
 *   address       string  the peer's IPv4 address, dotted quad
 *   state         string  static mode: "keyed" or "no-keys"; MAKE mode:
 *                         "waiting", "handshake", "attesting",
 *                         "established", "keyed", "failed", "refused",
 *                         "unreachable", "cut-off", "static" (a peer
 *                         with configured keys); either mode:
 *                         "revoked" (the local data plane is tampered)
 *   tx_epoch      int     key epoch used to send (static keys: a new
 *                         one each start and static_rekey_interval_s);
 *                         -1: no key (static mode without keys)
 *   tx_slot       int     data-plane key slot used to send (0 or 1);
 *                         negative (an errno) when it cannot be read
 *   tx_packets, tx_bytes, rx_packets, rx_bytes
 *                 int     sealed packets and bytes sent to / accepted
 *                         from the peer
 *   drops         int     packets of this peer dropped (any reason)
 *   passed_clear  int     packets of this peer let through in clear
 *                         (the control port)
 *   MAKE-keyed peers only (absent in static mode and for peers with
 *   configured keys):
 *   key_age_s     int     seconds since the newest keys were
 *                         installed (a rekey or a new MAKE); -1: never
 *                         keyed
 *   appraisal_age_ms int  milliseconds since the evidence of the session
 *                         whose keys we send with was appraised (rekeys
 *                         do not renew it; bounded by the configured
 *                         session lifetime, then the peer is cut off);
 *                         -1: no keys to send with
 *   makes         int     MAKE sessions with the peer that reached keys
 *                         since sealnetd started
 *   candidates    int     new MAKE sessions running beside the current
 *                         one (0..3); one replaces the current session
 *                         only once it reaches keys
 *   session       string  id of the current MAKE session: 16 hex
 *                         digits, 4 bytes of each side's HELLO nonce
 *                         (the same on both nodes); absent before the
 *                         first session reached keys
 *   make          string  the current MAKE session's state ("tls",
 *                         "attest", "keys", "established", "closing",
 *                         "failed"); absent when no session runs
 *   reason        string  the last failure or state change reason;
 *                         absent when there is none
 *   appraisal     string  why the peer's evidence was last rejected;
 *                         absent when it never was
 *
 * DROP COUNTER (in "drops")
 *   count   int     packets dropped for this reason since the data plane
 *                   was loaded
 *   text    string  what the reason means (sn_drop_text)
 *
 * MONITOR EVENTS (after "monitor"; sealnet monitor --json prints each line
 * as received).  "event" names the kind; fields in the order below.
 *   hello     {"event": "hello", "node"}: first line to a new monitor
 *     node       string  this node's name
 *   drop      a packet dropped by the data plane (rate-limited in the
 *             kernel) or the SIMD engine (rate-limited there alike)
 *     ts_ns      int     kernel monotonic time of the drop, ns
 *     reason     string  the drop reason's name (as in "drops")
 *     text       string  its meaning
 *     dir        string  "egress" or "ingress"
 *     src, dst   string  IPv4 source and destination, dotted quad
 *     sport, dport int   ports (host order); 0 when unknown (sealed or
 *                        not TCP/UDP)
 *     proto      int     IP protocol number
 *     peer       int     the peer's node id, 0 when unknown (NOTE: an int
 *                        here, a name in the MAKE events below)
 *     suppressed int     drop events left out by the rate limit before
 *                        this one
 *   keys        MAKE installed fresh keys for a peer (a new session's
 *               epoch 1, or a rekey)
 *   make        a new MAKE session with a peer reached keys (fresh
 *               evidence appraised on both sides); it is now the
 *               current session, replacing the previous one.  Sent
 *               right after that session's "keys" event
 *   make-failed a MAKE handshake with a peer failed (text: why, with the
 *               appraisal's reasons); the established session, if any,
 *               is kept when the failed one was a candidate
 *   cut-off     the evidence behind a peer's keys is older than the
 *               session lifetime and no fresh MAKE replaced it: its keys
 *               are gone
 *     (these four:) peer  string  the peer's name
 *                   epoch int     the peer's newest key epoch
 *                   text  string  what happened
 *     make only:    session string  the new session's id (as in the
 *                                   status's "session")
 *   tampered  the watchdog found the data plane changed: keys revoked,
 *             foreign programs removed; or the SIMD engine's device hooks
 *             are not sealnet's (reason starts "SIMD engine device"):
 *             the engine drops everything until sealnetd restored them
 *     text       string  what happened
 *     reason     string  what the watchdog found (as "dataplane_reason")
 *   A monitor refused (more than 16 at once) gets an ERROR ANSWER line.
 *   sealnetd writes keys, make, make-failed, cut-off and tampered to its
 *   audit log too, with "time" and "node" added (docs/sealnetd.md).
 */
#ifndef SEALNET_CONTROL_H
#define SEALNET_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define SN_CONTROL_SOCKET_DEFAULT "/run/sealnet/sealnetd.sock"
/* longest request line sealnetd reads, newline excluded */
#define SN_CONTROL_MAX_REQ 4096
/* longest status answer the client reads */
#define SN_CONTROL_MAX_ANSWER (16u << 20)
/* longest monitor event line the client keeps (longer ones are skipped) */
#define SN_CONTROL_MAX_EVENT 65536

/* ---- requests ------------------------------------------------------------ */

enum sn_control_cmd {
	SN_CONTROL_CMD_STATUS,
	SN_CONTROL_CMD_MONITOR,
	SN_CONTROL_CMD_WORKFLOW_APPLY,
};

/* "status", "monitor", "workflow-apply" */
const char *sn_control_cmd_name(enum sn_control_cmd cmd);
/* The request line for cmd, "\n"-terminated; caller frees. */
int sn_control_request_encode(enum sn_control_cmd cmd, char **line);
/* Parse one request line (len bytes, no newline): 0 and *cmd, -EPROTO
 * (not a JSON object with a string "cmd") or -ENOENT (an unknown cmd). */
int sn_control_request_decode(const char *line, size_t len,
			      enum sn_control_cmd *cmd);

/* ---- error answer ------------------------------------------------------ */

int sn_control_error_encode(const char *text, json_t **out);
/* The error text if answer is an error answer, else NULL (borrowed). */
const char *sn_control_error_text(const json_t *answer);

/* ---- status answer --------------------------------------------------- */

/* Strings are borrowed: the encoder's caller keeps them alive during the
 * call; decoded ones point into the decoded JSON (live as long as it).
 * NULL strings: absent (optional fields) or printed as "-" by the CLI. */
struct sn_control_peer {
	const char *name;
	uint32_t id;
	const char *address;
	const char *state;
	int64_t tx_epoch;
	int64_t tx_slot;
	uint64_t tx_packets, tx_bytes, rx_packets, rx_bytes;
	uint64_t drops, passed_clear;
	/* MAKE-keyed peers only */
	bool is_make;	   /* the four fields below are meaningful */
	int64_t key_age_s; /* encoded when is_make */
	int64_t appraisal_age_ms;
	uint64_t makes;
	uint32_t candidates;
	const char *session; /* NULL: absent */
	const char *make;    /* NULL: absent */
	const char *reason;
	const char *appraisal;
};

struct sn_control_drop {
	const char *reason; /* the drop reason's name */
	const char *text;
	uint64_t count;
};

struct sn_control_status {
	const char *node;
	uint32_t id;
	const char *interface;
	const char *mode;
	uint32_t egress_prog_id, ingress_prog_id;
	const char *dataplane;
	const char *dataplane_reason; /* NULL: absent (not tampered) */
	int64_t watchdog_tick_us;
	const char *mlog_digest;
	uint64_t mlog_events;
	struct sn_control_peer *peers;
	size_t n_peers;
	struct sn_control_drop *drops;
	size_t n_drops;
};

int sn_control_status_encode(const struct sn_control_status *st, json_t **out);
/* Decode a status answer.  Missing fields decode as NULL / 0 (readers
 * are lenient); -EPROTO when answer is not an object or "peers"/"drops"
 * have the wrong type.  Free with sn_control_status_release. */
int sn_control_status_decode(const json_t *answer,
			     struct sn_control_status *out);
void sn_control_status_release(struct sn_control_status *st);

/* ---- monitor events ---------------------------------------------------- */

enum sn_control_event_kind {
	SN_CONTROL_EV_OTHER, /* an event this build does not know */
	SN_CONTROL_EV_HELLO,
	SN_CONTROL_EV_DROP,
	SN_CONTROL_EV_KEYS,
	SN_CONTROL_EV_MAKE_FAILED,
	SN_CONTROL_EV_CUT_OFF,
	SN_CONTROL_EV_MAKE,
	SN_CONTROL_EV_TAMPERED,
	SN_CONTROL_EV_ERROR, /* an error answer instead of an event */
};

/* "hello", "drop", "keys", "make-failed", "cut-off", "make", "tampered";
 * NULL for OTHER and ERROR */
const char *sn_control_event_name(enum sn_control_event_kind kind);
/* true for the MAKE events (keys, make-failed, cut-off, make) */
bool sn_control_event_is_make(enum sn_control_event_kind kind);

/* One event; which fields are meaningful depends on kind (see above). */
struct sn_control_event {
	enum sn_control_event_kind kind;
	const char *name; /* the "event" string (decoded; any kind) */
	const char *node; /* hello */
	const char *text; /* drop, MAKE events, tampered */
	/* drop */
	uint64_t ts_ns;
	const char *reason; /* drop: the reason's name; tampered: the finding */
	bool ingress;
	const char *src, *dst;
	uint16_t sport, dport;
	uint8_t proto;
	uint32_t peer_id;
	uint32_t suppressed;
	/* MAKE events */
	const char *peer;
	int64_t epoch;
	const char *session; /* make */
	/* error */
	const char *error;
};

/* "egress" / "ingress" */
const char *sn_control_dir_name(bool ingress);

/* -EINVAL for kinds OTHER and ERROR (use sn_control_error_encode). */
int sn_control_event_encode(const struct sn_control_event *ev, json_t **out);
/* Lenient like the status decoder; -EPROTO if j is not an object. */
int sn_control_event_decode(const json_t *j, struct sn_control_event *out);

/* ---- client (lib/control/client.c) ------------------------------------ */

/* Connect to the control socket at path; 0 and *fd, or negative errno. */
int sn_control_connect(const char *path, int *fd);

/* Send cmd and read the whole answer (the daemon closes after it): 0 and
 * *answer (the caller's to json_decref), or negative errno (-EPROTO: not
 * JSON, logged).  An error answer is returned as an answer: check
 * sn_control_error_text. */
int sn_control_request(const char *path, enum sn_control_cmd cmd,
		       json_t **answer);

struct sn_control_monitor;
/* Connect and send "monitor". */
int sn_control_monitor_open(const char *path, struct sn_control_monitor **out);
/* Wait for the next event line: 0 with *ev decoded (strings valid until
 * the next call) and *line the line as received (no newline; same life),
 * -ENODATA when sealnetd closed the stream, or another negative errno.
 * Lines that are not JSON objects, or longer than SN_CONTROL_MAX_EVENT,
 * are skipped. */
int sn_control_monitor_next(struct sn_control_monitor *m,
			    struct sn_control_event *ev, const char **line);
void sn_control_monitor_close(struct sn_control_monitor *m);

#endif
