/*
 * slack_stats.h - counts of Slack calls by method and HTTP status, and the
 * time spent waiting out 429s, kept in the process and added to the
 * slack_call_counts table (sql/009_metrics.sql) by slack_stats_flush, which
 * /metrics reads.  The table, not the process, is the total: a sync pass is
 * a short-lived process on any of several hosts.
 *
 * The client reports each exchange with slack_stats_note_call and each
 * Retry-After wait with slack_stats_note_wait, both from the transport's
 * exchange and retry loop (slack_http.c).
 *
 * State is per process and fixed in size (SLACK_STATS_MAX entries; further
 * (method, status) pairs are counted under method "other").  Thread safe
 * (one mutex): the sync reads users and groups on two threads.  Method
 * names are copied
 * (up to 47 bytes).  Errors of flush: those of db_* (the counts are kept
 * for the next flush).
 */
#ifndef PV_SLACK_STATS_H
#define PV_SLACK_STATS_H

struct db;

#define SLACK_STATS_MAX 64

/* One HTTP exchange with Slack answered with http_status (0: no answer). */
void slack_stats_note_call(const char *method, long http_status);
/* seconds waited because method answered 429. */
void slack_stats_note_wait(const char *method, double seconds);
/* Number of (method, status) entries not yet flushed. */
int slack_stats_pending(void);
/* Adds the counts to slack_call_counts in one transaction and clears them. */
int slack_stats_flush(struct db *db);

#endif
