/*
 * rp_session.h
 *	  Session-aware scoring: recency weights of an ordered session, and the
 *	  session-kNN scorer with recency weighting (V-SKNN).
 *
 * A session is a sequence of items, most recent last.  rp_session_weights
 * turns it into the history form every scorer takes (item indices
 * ascending, one value each): the item at position p (1-based) of a
 * session of L known items weighs p / L, so the most recent weighs 1 and
 * the first 1/L (the linear decay of V-SKNN); an item met several times
 * keeps the weight of its latest position.
 *
 * V-SKNN (Ludewig and Jannach, "Evaluation of session-based recommendation
 * algorithms", User Modeling and User-Adapted Interaction 28, 2018; after
 * Jannach and Ludewig, "When recurrent neural networks meet the
 * neighborhood for session-based recommendation", RecSys 2017): the past
 * sessions sharing an item with the current one are the candidates; when
 * there are more than `sample_size`, the most recent ones are kept (a past
 * session's time is its last event); the similarity of a candidate n is
 * the dot product of the weighted current session with n's binary item
 * vector, sim(s, n) = sum of w_i over the items i of s that n contains;
 * the `neighbours` most similar candidates are kept (ties: the more recent,
 * then the lower index) and score(j) = sum of sim(s, n) over the kept n
 * that contain j.  Items of no neighbour score 0.
 * Pure, single-threaded, no allocation: the caller gives the workspace.
 */
#ifndef RP_SESSION_H
#define RP_SESSION_H

#include "rp_core.h"
#include "rp_csr.h"

/*
 * Session items seq[0..n) (indices in [0, n_items), or < 0 for unknown
 * items, which are skipped and do not count in L) to a history: out_idx
 * ascending distinct, out_w their weights.  Returns the history length.
 * work: n_items bytes, all zero on entry and on return.
 */
extern int32_t rp_session_weights(const int32_t *seq, int32_t n, int32_t n_items,
								  int32_t *out_idx, double *out_w, unsigned char *work);

/* Bytes of workspace rp_sknn_score needs for n_sessions past sessions. */
extern size_t rp_sknn_workspace(int32_t n_sessions);

/*
 * V-SKNN scores of every item for the weighted session (hist ascending,
 * w > 0).  sessions: past sessions x items (values ignored: membership);
 * inverted: its transpose (items x sessions).  session_time: n_sessions
 * times (larger = more recent).  exclude: a past session to leave out (the
 * current one when it is in the model), or -1.  scores: n_items, written.
 * work: rp_sknn_workspace(n_sessions) bytes, all zero before the first
 * call; each call leaves it reusable (its similarity array zero again), so
 * a loaded model keeps one.  RP_EINVAL on sizes out of range, before the
 * workspace is touched.
 */
extern rp_status rp_sknn_score(const rp_csr *sessions, const rp_csr *inverted,
							   const double *session_time, const int32_t *hist,
							   const double *w, int32_t nhist, int32_t exclude,
							   int32_t sample_size, int32_t neighbours,
							   double *scores, void *work);

#endif							/* RP_SESSION_H */
