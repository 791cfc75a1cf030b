/*
 * clock.h - the monotonic clock, read the one way the product reads it.
 *
 * Durations, ages and deadlines (a lease's renewal, the sync's phases, a
 * kept answer's age, Slack's pacing, a request's time in the log) are
 * measured on CLOCK_MONOTONIC: the wall clock can be set back or jump,
 * and a duration measured on it would too.  Never for a time shown to
 * people or stored (those are the database's or time(NULL)).
 *
 * No state, no allocation, safe from any thread.
 */
#ifndef PV_CLOCK_H
#define PV_CLOCK_H

#include <stdint.h>

/* Milliseconds since an arbitrary start, never going back. */
int64_t clock_mono_ms(void);

/* The same in seconds, to the nanosecond the clock gives. */
double clock_mono_seconds(void);

#endif
