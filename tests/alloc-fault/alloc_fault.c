/*
 * alloc_fault.so - fails the Nth allocation of a running program, for the
 * whole-stack allocation-failure torture (tests/integration/
 * test_alloc_torture.py, tests/RELIABILITY.md; issue 12).
 *
 * Loaded with LD_PRELOAD into the sanitizer builds of provisioning-sync and
 * provisioning-api (build/san/bin): its malloc, calloc, realloc, strdup and
 * strndup come before ASan's in the symbol lookup, count the calls and pass
 * them on to ASan's (dlsym RTLD_NEXT), or return NULL with errno ENOMEM at
 * the chosen call.  Why a preloaded shim and not -Wl,--wrap like
 * tests/unit/test_alloc_fail.c: --wrap only redirects the calls of the
 * objects being linked, so json-c's allocations (a shared library), which
 * build every answer and parse every Slack page, would never fail.  The
 * shim counts and fails only the calls made from the program itself (lib/,
 * cgi-bin/, cron/ are linked into it) and from libjson-c, told apart by the
 * caller's return address: the allocations of libmariadb, libcurl, OpenSSL
 * and glibc are theirs to handle, and failing them would test those
 * libraries rather than ours.  ASan must be told it is not first in the
 * library list: ASAN_OPTIONS=verify_asan_link_order=0.
 *
 * Not counted either: json-c's allocations inside json_tokener_parse_ex.
 * json-c 0.16 (Debian 12) ignores json_object_object_add's and
 * json_object_array_add's result in its parser (json_tokener.c, the
 * *_value_add states): when the table's or the array's growth fails, the
 * parsed value leaks and the field is silently dropped from an object that
 * is returned as a success.  That is json-c's defect, which no caller can
 * see or handle; failing those calls would only ever find it again
 * (tests/RELIABILITY.md).  The parser's start (json_tokener_new_ex) and
 * everything our code does with its result are counted.  Likewise json-c's
 * reallocs inside its serializer (json_object_to_json_string_length and
 * _ext): its string escaper ignores printbuf_memappend's result, so a
 * failed growth gives shorter text ("email":"") reported as a success.
 * The serializer's first allocations (its printbuf, whose failure makes it
 * return NULL, which callers must handle) are counted.  And json-c's
 * table growth inside json_object_object_add(_ex): when it fails, json-c
 * returns -1 but leaks its copy of the key (lh_table_insert_w_hash fails
 * after the strdup).  The key's copy itself is failed and counted: its
 * failure is clean, and it is the same -1 that callers must handle.
 *
 * Environment:
 *   PV_ALLOC_FAIL_AT=N    fail the Nth counted call (1-based); "N+" fails
 *                         the Nth and every later one; 0 or unset: never.
 *   PV_ALLOC_SCOPE=process  (default) count from the start of the process:
 *                         configuration loading and the database connection
 *                         are part of what a sync pass must survive.
 *   PV_ALLOC_SCOPE=request  the FastCGI API: counting starts anew when
 *                         FCGX_Accept_r returns and stops at FCGX_Finish_r,
 *                         so start-up (which only ever exits 1) and the
 *                         wait between requests are not counted; the fail
 *                         point is read from the file PV_ALLOC_CTL at each
 *                         accept (its text: "N" or "N+"; missing or 0:
 *                         none), so that one process serves a failing
 *                         request and then a normal one.
 *   PV_ALLOC_COUNT_FILE=F after the process (process scope) or each
 *                         request (request scope, written before the
 *                         answer is finished) the line
 *                         "<counted> <failed> <first failed site>\n";
 *                         the site is "object+0xOFFSET" for addr2line.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef void *(*malloc_fn)(size_t);
typedef void *(*calloc_fn)(size_t, size_t);
typedef void *(*realloc_fn)(void *, size_t);
typedef void (*free_fn)(void *);
typedef char *(*strdup_fn)(const char *);
typedef char *(*strndup_fn)(const char *, size_t);

static malloc_fn real_malloc;
static calloc_fn real_calloc;
static realloc_fn real_realloc;
static free_fn real_free;
static strdup_fn real_strdup;
static strndup_fn real_strndup;

/* dlsym may allocate before the real functions are known: those few
 * blocks come from here and are never freed. */
static char boot[8192] __attribute__((aligned(16)));
static size_t boot_used;
static int resolving;

/* Address ranges whose calls are counted: the program and libjson-c. */
struct range {
	uintptr_t lo, hi, base;
	const char *name;
	int json_c;
};
static __thread int in_tokener, in_serializer, in_object_add;
enum { CALL_ALLOC, CALL_REALLOC, CALL_STRDUP };
static struct range ranges[16];
static int n_ranges;
static int ready;

static long fail_at;		/* 0: never */
static int fail_after;		/* "N+": every call from N on */
static int request_scope;
static int counting;		/* process scope: always; request: in a request */
static long counted, failed;
static char site[512];
static const char *count_file, *ctl_file;

static void *boot_alloc(size_t n)
{
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (boot_used + n > sizeof(boot))
		return NULL;
	p = boot + boot_used;
	boot_used += n;
	return p;
}

static int in_boot(const void *p)
{
	return (const char *)p >= boot && (const char *)p < boot + sizeof(boot);
}

static int add_range(struct dl_phdr_info *info, size_t size, void *data)
{
	const char *name = info->dlpi_name;
	int main_program = *(int *)data;

	(void)size;
	*(int *)data = 0;
	if (!main_program && !strstr(name, "libjson-c"))
		return 0;
	for (int i = 0; i < info->dlpi_phnum && n_ranges < 16; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		ranges[n_ranges].lo = info->dlpi_addr + ph->p_vaddr;
		ranges[n_ranges].hi = ranges[n_ranges].lo + ph->p_memsz;
		ranges[n_ranges].base = info->dlpi_addr;
		ranges[n_ranges].name = main_program ? "program" : "libjson-c";
		ranges[n_ranges].json_c = !main_program;
		n_ranges++;
	}
	return 0;
}

static void parse_fail_at(const char *s)
{
	char *end;

	fail_at = 0;
	fail_after = 0;
	if (!s)
		return;
	fail_at = strtol(s, &end, 10);
	if (fail_at < 0)
		fail_at = 0;
	fail_after = *end == '+';
}

static void write_count(void)
{
	char line[700], tmp[4200];
	int fd, n;

	if (!count_file)
		return;
	/* Written aside and renamed: a reader never sees half a line. */
	n = snprintf(line, sizeof(line), "%ld %ld %s\n", counted, failed, site[0] ? site : "-");
	snprintf(tmp, sizeof(tmp), "%s.tmp", count_file);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, line, (size_t)n) != n)
		(void)0;
	close(fd);
	rename(tmp, count_file);
}

static void read_ctl(void)
{
	char text[64];
	ssize_t n = -1;
	int fd;

	fd = ctl_file ? open(ctl_file, O_RDONLY | O_CLOEXEC) : -1;
	if (fd >= 0) {
		n = read(fd, text, sizeof(text) - 1);
		close(fd);
	}
	text[n > 0 ? n : 0] = '\0';
	parse_fail_at(text);
}

static void resolve(void)
{
	resolving = 1;
	real_malloc = (malloc_fn)dlsym(RTLD_NEXT, "malloc");
	real_calloc = (calloc_fn)dlsym(RTLD_NEXT, "calloc");
	real_realloc = (realloc_fn)dlsym(RTLD_NEXT, "realloc");
	real_free = (free_fn)dlsym(RTLD_NEXT, "free");
	real_strdup = (strdup_fn)dlsym(RTLD_NEXT, "strdup");
	real_strndup = (strndup_fn)dlsym(RTLD_NEXT, "strndup");
	resolving = 0;
}

__attribute__((constructor)) static void init(void)
{
	const char *scope = getenv("PV_ALLOC_SCOPE");
	int first = 1;

	if (!real_malloc)
		resolve();
	dl_iterate_phdr(add_range, &first);
	request_scope = scope && strcmp(scope, "request") == 0;
	count_file = getenv("PV_ALLOC_COUNT_FILE");
	ctl_file = getenv("PV_ALLOC_CTL");
	if (!request_scope) {
		parse_fail_at(getenv("PV_ALLOC_FAIL_AT"));
		counting = 1;
	}
	ready = 1;
}

__attribute__((destructor)) static void fini(void)
{
	if (!request_scope)
		write_count();
}

/* Whether this call, made from return address ra, is to fail. */
static int should_fail_kind(void *ra, int kind)
{
	uintptr_t a = (uintptr_t)ra;
	long n;

	if (!ready || !counting)
		return 0;
	for (int i = 0; i < n_ranges; i++) {
		if (a < ranges[i].lo || a >= ranges[i].hi)
			continue;
		if (ranges[i].json_c && (in_tokener || (in_serializer && kind == CALL_REALLOC) ||
					 (in_object_add && kind != CALL_STRDUP)))
			return 0;
		n = __atomic_add_fetch(&counted, 1, __ATOMIC_RELAXED);
		if (fail_at == 0 || n < fail_at || (n > fail_at && !fail_after))
			return 0;
		if (__atomic_add_fetch(&failed, 1, __ATOMIC_RELAXED) == 1)
			snprintf(site, sizeof(site), "%s+0x%lx", ranges[i].name,
				 (unsigned long)(a - ranges[i].base - 1));
		errno = ENOMEM;
		return 1;
	}
	return 0;
}

#define should_fail(ra) should_fail_kind(ra, CALL_ALLOC)

void *malloc(size_t n)
{
	if (!real_malloc) {
		if (resolving)
			return boot_alloc(n);
		resolve();
	}
	if (should_fail(__builtin_return_address(0)))
		return NULL;
	return real_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	if (!real_calloc) {
		if (resolving)
			return boot_alloc(n * size);	/* static: already zero */
		resolve();
	}
	if (should_fail(__builtin_return_address(0)))
		return NULL;
	return real_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	if (!real_realloc)
		resolve();
	if (should_fail_kind(__builtin_return_address(0), CALL_REALLOC))
		return NULL;
	if (p && in_boot(p)) {
		void *q = real_malloc(n);

		if (q)
			memcpy(q, p, n < (size_t)(boot + sizeof(boot) - (char *)p) ?
				     n : (size_t)(boot + sizeof(boot) - (char *)p));
		return q;
	}
	return real_realloc(p, n);
}

void free(void *p)
{
	if (!p || in_boot(p))
		return;
	if (!real_free)
		resolve();
	real_free(p);
}

char *strdup(const char *s)
{
	if (!real_strdup)
		resolve();
	if (should_fail_kind(__builtin_return_address(0), CALL_STRDUP))
		return NULL;
	return real_strdup(s);
}

char *strndup(const char *s, size_t n)
{
	if (!real_strndup)
		resolve();
	if (should_fail(__builtin_return_address(0)))
		return NULL;
	return real_strndup(s, n);
}

/* json-c's parser: its own allocations are not failed (see the top). */
struct json_tokener;
struct json_object;
typedef struct json_object *(*parse_fn)(struct json_tokener *, const char *, int);
struct json_object *json_tokener_parse_ex(struct json_tokener *tok, const char *str, int len);

struct json_object *json_tokener_parse_ex(struct json_tokener *tok, const char *str, int len)
{
	static parse_fn real;
	struct json_object *o;

	if (!real)
		real = (parse_fn)dlsym(RTLD_NEXT, "json_tokener_parse_ex");
	in_tokener++;
	o = real(tok, str, len);
	in_tokener--;
	return o;
}

typedef const char *(*to_string_fn)(struct json_object *, int, size_t *);
typedef const char *(*to_string_ext_fn)(struct json_object *, int);
const char *json_object_to_json_string_length(struct json_object *o, int flags, size_t *len);
const char *json_object_to_json_string_ext(struct json_object *o, int flags);

const char *json_object_to_json_string_length(struct json_object *o, int flags, size_t *len)
{
	static to_string_fn real;
	const char *s;

	if (!real)
		real = (to_string_fn)dlsym(RTLD_NEXT, "json_object_to_json_string_length");
	in_serializer++;
	s = real(o, flags, len);
	in_serializer--;
	return s;
}

const char *json_object_to_json_string_ext(struct json_object *o, int flags)
{
	static to_string_ext_fn real;
	const char *s;

	if (!real)
		real = (to_string_ext_fn)dlsym(RTLD_NEXT, "json_object_to_json_string_ext");
	in_serializer++;
	s = real(o, flags);
	in_serializer--;
	return s;
}

typedef int (*add_fn)(struct json_object *, const char *, struct json_object *);
typedef int (*add_ex_fn)(struct json_object *, const char *, struct json_object *, unsigned);
int json_object_object_add(struct json_object *o, const char *k, struct json_object *v);
int json_object_object_add_ex(struct json_object *o, const char *k, struct json_object *v, unsigned opts);

int json_object_object_add(struct json_object *o, const char *k, struct json_object *v)
{
	static add_fn real;
	int rc;

	if (!real)
		real = (add_fn)dlsym(RTLD_NEXT, "json_object_object_add");
	in_object_add++;
	rc = real(o, k, v);
	in_object_add--;
	return rc;
}

int json_object_object_add_ex(struct json_object *o, const char *k, struct json_object *v, unsigned opts)
{
	static add_ex_fn real;
	int rc;

	if (!real)
		real = (add_ex_fn)dlsym(RTLD_NEXT, "json_object_object_add_ex");
	in_object_add++;
	rc = real(o, k, v, opts);
	in_object_add--;
	return rc;
}

/* The FastCGI request boundaries (request scope).  libfcgi is a shared
 * library, so the program's calls to these come here first. */
typedef struct FCGX_Request FCGX_Request;
typedef int (*accept_fn)(FCGX_Request *);
typedef void (*finish_fn)(FCGX_Request *);

int FCGX_Accept_r(FCGX_Request *r);
void FCGX_Finish_r(FCGX_Request *r);

int FCGX_Accept_r(FCGX_Request *r)
{
	static accept_fn real;
	int rc;

	if (!real)
		real = (accept_fn)dlsym(RTLD_NEXT, "FCGX_Accept_r");
	rc = real(r);
	if (request_scope && rc >= 0) {
		read_ctl();
		counted = failed = 0;
		site[0] = '\0';
		counting = 1;
	}
	return rc;
}

void FCGX_Finish_r(FCGX_Request *r)
{
	static finish_fn real;

	if (!real)
		real = (finish_fn)dlsym(RTLD_NEXT, "FCGX_Finish_r");
	if (request_scope && counting) {
		counting = 0;
		write_count();
	}
	real(r);
}
