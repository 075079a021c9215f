/*-------------------------------------------------------------------------
 *
 * verify.h
 *	  Ledger verification and the verifier worker.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOV_VERIFY_H
#define GOV_VERIFY_H


extern int	gov_unsealed_grace_ms;

extern void gov_verify_define_gucs(void);
extern void gov_verifier_duty(void);

#endif							/* GOV_VERIFY_H */
