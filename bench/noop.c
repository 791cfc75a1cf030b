/*
 * bench-noop - the FastCGI program that does nothing, the API figure's
 * baseline (make bench): behind the same nginx as provisioning-api, it
 * answers every request with the bytes of one file, read once at start,
 * so what it costs is FastCGI and nginx and nothing else.
 *
 *   spawn-fcgi -s noop.sock -F 3 -- build/rel/bench-noop answer.json
 *
 * Exit 0 at the end of the accept loop; 2 when the file cannot be read.
 * The body is at most 1 MiB (the API's answers measured are far smaller).
 */
#include <stdio.h>
#include <stdlib.h>

#include <fcgiapp.h>

#define NOOP_MAX_BODY (1024 * 1024)

int main(int argc, char **argv)
{
	FCGX_Stream *in, *out, *err;
	FCGX_ParamArray envp;
	static char body[NOOP_MAX_BODY];
	char head[256];
	size_t len;
	int head_len;
	FILE *f;

	if (argc != 2 || !(f = fopen(argv[1], "rb"))) {
		fprintf(stderr, "usage: bench-noop FILE (a readable file)\n");
		return 2;
	}
	len = fread(body, 1, sizeof(body), f);
	fclose(f);
	/* libfcgi's own printf knows no %zu: the head is formatted once here. */
	head_len = snprintf(head, sizeof(head), "Status: 200 OK\r\nContent-Type: application/json; "
			    "charset=utf-8\r\nContent-Length: %zu\r\n\r\n", len);
	while (FCGX_Accept(&in, &out, &err, &envp) >= 0) {
		FCGX_PutStr(head, head_len, out);
		FCGX_PutStr(body, (int)len, out);
	}
	return 0;
}
