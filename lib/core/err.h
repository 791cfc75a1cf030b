/*
 * err.h - the one error convention of libprovision.
 *
 * Every function in lib/ that can fail returns 0 on success and one of the
 * negative codes below on failure; nothing else.  Functions that return a
 * count return it as a non-negative int and failures as these codes.  The
 * codes say what kind of failure happened, so that callers (the API maps them
 * to HTTP statuses, the CLI to exit codes) can react without parsing text;
 * the details go to the log, or into a caller-supplied message buffer.
 */
#ifndef PV_ERR_H
#define PV_ERR_H

enum pv_err {
	PV_OK = 0,
	PV_ENOMEM = -1,      /* allocation failed or a bounded buffer is full */
	PV_EINVAL = -2,      /* bad input: caller's data is not acceptable */
	PV_ENOTFOUND = -3,   /* no such object (in this organization) */
	PV_ECONFLICT = -4,   /* would break a uniqueness or state rule */
	PV_EDB = -5,         /* the database refused a statement */
	PV_EDBDOWN = -6,     /* the database cannot be reached */
	PV_ETOOBIG = -7,     /* input larger than its limit */
	PV_EIO = -8,         /* file or network I/O failed */
	PV_ECRYPTO = -9,     /* encryption, decryption or randomness failed */
	PV_EAUTH = -10,      /* credentials not accepted */
	PV_ETHROTTLED = -11, /* too many attempts; try later */
	PV_EREMOTE = -12,    /* a remote service (Slack, SMTP) failed */
	PV_EDEADLOCK = -13,  /* transaction lost a deadlock; retry it whole */
	PV_ELEASE = -14,     /* a worker lost its lease on a job: stop, write nothing */
};

/* A short lower-case description of a code, for logs; never NULL. */
const char *pv_strerror(int rc);

#endif
