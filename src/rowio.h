/*-------------------------------------------------------------------------
 *
 * rowio.h
 *	  Reading, locking and writing the extension's own rows without SQL.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_ROWIO_H
#define GOV_ROWIO_H


#include "executor/executor.h"
#include "utils/rel.h"
#include "utils/uuid.h"

typedef struct GovRowIO
{
	Relation	rel;
	EState	   *estate;
	ResultRelInfo *rri;
	/* the row found by gov_rowio_lock (table AM slot) */
	TupleTableSlot *row;
	TupleTableSlot *out;		/* values to write (virtual) */
} GovRowIO;

/*
 * Open relid for writing, checking that its columns are exactly the names
 * given, in order (the code that fills the values depends on it).
 */
extern void gov_rowio_open(GovRowIO *io, Oid relid, const char *const *columns, int ncolumns);
extern void gov_rowio_close(GovRowIO *io);

/*
 * Insert one row (indexes, constraints and triggers as for an INSERT).  The
 * command counter is not advanced: call CommandCounterIncrement() when
 * a lookup in the same statement must see the row.
 */
extern void gov_rowio_insert(GovRowIO *io, const Datum *values, const bool *nulls);

/*
 * Find the row whose primary key (a single uuid column) is key and lock
 * it as SELECT ... FOR UPDATE does under READ COMMITTED: waiting for a
 * writer, then taking its latest version.  False when there is no such
 * row.  The row is left in io->row, all columns deformed.
 */
extern bool gov_rowio_lock_uuid(GovRowIO *io, const pg_uuid_t *key);

/* Replace the row io->row holds (locked above) by these values. */
extern void gov_rowio_update(GovRowIO *io, const Datum *values, const bool *nulls);

/*
 * Read the row of relid whose primary key (a single text column) is key,
 * as the statement's snapshot sees it, checking the columns as
 * gov_rowio_open does; values are copied into the current memory context.
 * False when there is no such row.
 */
extern bool gov_row_read_text_key(Oid relid, const char *const *columns, int ncolumns,
								  const char *key, Datum *values, bool *nulls);

#endif							/* GOV_ROWIO_H */
