#include "core/err.h"

const char *pv_strerror(int rc)
{
	switch (rc) {
	case PV_OK: return "success";
	case PV_ENOMEM: return "out of memory";
	case PV_EINVAL: return "invalid input";
	case PV_ENOTFOUND: return "not found";
	case PV_ECONFLICT: return "conflict";
	case PV_EDB: return "database error";
	case PV_EDBDOWN: return "database unavailable";
	case PV_ETOOBIG: return "too large";
	case PV_EIO: return "input/output error";
	case PV_ECRYPTO: return "cryptographic failure";
	case PV_EAUTH: return "authentication failed";
	case PV_ETHROTTLED: return "too many attempts";
	case PV_EREMOTE: return "remote service failed";
	case PV_EDEADLOCK: return "deadlock";
	case PV_ELEASE: return "lease lost to another worker";
	}
	return "unknown error";
}
