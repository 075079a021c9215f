/*-------------------------------------------------------------------------
 *
 * events_spool.h
 *	  The ring and the spool file of security events (docs/FORMAT.md,
 *	  section 11): what events.c, which queues events, and events_drain.c,
 *	  where the enforcer ledgers them, share.  Not for other files.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_EVENTS_SPOOL_H
#define GOV_EVENTS_SPOOL_H

#include "access/transam.h"
#include "storage/lwlock.h"
#include "utils/jsonb.h"
#include "utils/uuid.h"

#define EVENT_QUEUE_SIZE	256
#define EVENT_RECORD_MAX	4096	/* one encoded event, bytes */
#define EVENT_DRAIN_BATCH	1000	/* events ledgered per enforcer round */
#define EVENT_MAX_HOLD_MS	1000	/* longest a busy chain holds its events */
#define SPOOL_MAX_SKIPPED	1024	/* events ledgered past one left waiting */

#define EVENTS_TRANCHE		"governance security events"

#define SPOOL_DIR			"pg_governance"
#define SPOOL_FILE			SPOOL_DIR "/events.spool"
#define SPOOL_TMP			SPOOL_DIR "/events.spool.tmp"
#define CURSOR_FILE			SPOOL_DIR "/events.cursor"
#define CURSOR_TMP			SPOOL_DIR "/events.cursor.tmp"
#define SPOOL_MAGIC			"GOVSPOOL"
#define CURSOR_MAGIC		"GOVCURSR"
#define SPOOL_HEADER		16	/* magic, generation */
#define RECORD_MAGIC		0x47455631	/* "GEV1" */
#define RECORD_HEADER		12	/* magic, length, CRC-32C */
#define CURSOR_MAX_DONE		SPOOL_MAX_SKIPPED
#define CURSOR_MAX			(8 + 8 + 8 + 2 * (8 + 4 + 8 * CURSOR_MAX_DONE) + 4)

typedef enum SlotState
{
	SLOT_FREE = 0,
	SLOT_READY,					/* queued */
	SLOT_CLAIMED,				/* ledgered by claim_xid, not yet committed */
	SLOT_DONE					/* ledgered and committed */
} SlotState;

typedef struct EventSlot
{
	uint32		state;
	uint32		len;
	char		data[EVENT_RECORD_MAX];
} EventSlot;

typedef struct EventQueue
{
	LWLock	   *lock;
	LWLock	   *spool_lock;
	/* under lock */
	uint64		head;			/* next slot to fill */
	uint64		tail;			/* oldest slot not DONE */
	bool		spilling;		/* new events go to the spool */
	int			spool_writers;	/* backends between deciding to spool and done */
	uint64		lost;			/* events that could not be spooled */
	FullTransactionId claim_xid;	/* the enforcer xact that CLAIMED slots */
	/* under spool_lock */
	bool		spool_known;	/* the two below were read from the file */
	uint64		spool_gen;		/* generation of the spool file, 0 when none */
	uint64		spool_end;		/* just past its last complete record */
	EventSlot	slots[EVENT_QUEUE_SIZE];
} EventQueue;

/* An encoded event (docs/FORMAT.md, section 11), as queued. */
typedef struct EncodedEvent
{
	uint32		len;
	char		data[FLEXIBLE_ARRAY_MEMBER];
} EncodedEvent;

extern EventQueue *gov_ev_queue;

extern uint32 gov_ev_crc32c(const char *data, size_t len);
extern EncodedEvent *gov_ev_encode_event(const char *kind, const pg_uuid_t *lease_id, const char *principal, const char *action, const char *resource, Jsonb *payload, MemoryContext cxt);
extern uint32 gov_ev_get32(const char *p);
extern uint64 gov_ev_get64(const char *p);
extern uint64 gov_ev_next_generation(void);
extern void gov_ev_put32(char *p, uint32 v);
extern void gov_ev_put64(char *p, uint64 v);
extern bool gov_ev_read_at(int fd, char *buf, size_t len, uint64 off);
extern bool gov_ev_spool_create(uint64 gen, char *why, size_t whylen);
extern bool gov_ev_spool_ready(char *why, size_t whylen);
extern bool gov_ev_write_at(int fd, const char *buf, size_t len, uint64 off);

#endif							/* GOV_EVENTS_SPOOL_H */
