/*-------------------------------------------------------------------------
 *
 * spi_cache.h
 *	  SPI statements prepared once per backend.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_SPI_CACHE_H
#define GOV_SPI_CACHE_H


/*
 * Like SPI_execute_with_args(), but the statement is parsed and planned
 * once per backend and kept (the plan cache revalidates it after DDL).
 * sql must be a string literal: the cache is keyed by its address.
 */
extern int	gov_spi_exec(const char *sql, int nargs, Oid *argtypes, Datum *values,
						 const char *nulls, bool read_only, long count);

#endif							/* GOV_SPI_CACHE_H */
