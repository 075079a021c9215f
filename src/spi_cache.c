/*-------------------------------------------------------------------------
 *
 * spi_cache.c
 *	  SPI statements prepared once per backend.
 *
 *	  The hot paths (authorize, heartbeat, attach) run a handful of fixed
 *	  statements; parsing and planning them on every call cost more than
 *	  executing them.  Plans are kept with SPI_keepplan, so the plan cache
 *	  revalidates them after DDL or a re-created extension.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"

#include "spi_cache.h"

#define SPI_CACHE_SIZE 64

typedef struct CachedStmt
{
	const char *sql;
	int			nargs;
	SPIPlanPtr	plan;
} CachedStmt;

static CachedStmt cache[SPI_CACHE_SIZE];
static int	ncached = 0;

int
gov_spi_exec(const char *sql, int nargs, Oid *argtypes, Datum *values,
			 const char *nulls, bool read_only, long count)
{
	int			i;
	SPIPlanPtr	plan = NULL;

	for (i = 0; i < ncached; i++)
		if (cache[i].sql == sql && cache[i].nargs == nargs)
		{
			plan = cache[i].plan;
			break;
		}
	if (plan == NULL)
	{
		plan = SPI_prepare(sql, nargs, argtypes);
		if (plan == NULL)
			elog(ERROR, "could not prepare \"%s\": %s", sql, SPI_result_code_string(SPI_result));
		if (ncached < SPI_CACHE_SIZE)
		{
			if (SPI_keepplan(plan) != 0)
				elog(ERROR, "could not keep the plan of \"%s\"", sql);
			cache[ncached].sql = sql;
			cache[ncached].nargs = nargs;
			cache[ncached].plan = plan;
			ncached++;
		}
	}
	return SPI_execute_plan(plan, values, nulls, read_only, count);
}
