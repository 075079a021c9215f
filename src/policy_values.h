/*-------------------------------------------------------------------------
 *
 * policy_values.h
 *	  jsonb (entity attributes, request contexts) as policy values.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_POLICY_VALUES_H
#define GOV_POLICY_VALUES_H

#include "utils/jsonb.h"

#include "policy_lang.h"

/* Convert a jsonb value; the values point into jb, which must outlive them. */
extern void gov_policy_jsonb_to_value(Jsonb *jb, GovPolValue *out);

/* Do the entity references in v name valid uids?  If not, *why says which. */
extern bool gov_policy_value_refs_valid(const GovPolValue *v, const char **why);

/*
 * A policy's annotations for people (issue 17): *text as Cedar writes them,
 * @id("x") @advice("..."), and *json an object {"id": "x", ...}; both NULL
 * when it has none.  A NUL in a value (\0) shows as U+FFFD.
 */
extern void gov_policy_annotations(const GovPolicy *p, char **text, char **json);

#endif							/* GOV_POLICY_VALUES_H */
