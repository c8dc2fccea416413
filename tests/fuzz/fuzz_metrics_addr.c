// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The pure part of the metrics server: the --metrics ADDR:PORT parser. The
 * HTTP request path (libmicrohttpd's parser and our handlers) is fuzzed by
 * fuzz_http.c.
 */
#include <errno.h>
#include <netinet/in.h>
#include "output/metrics_http.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strdup(data, size);
	struct sockaddr_storage ss;
	socklen_t len = 0;
	int err;

	err = metrics_addr__parse(s, &ss, &len);
	FUZZ_ASSERT(err == 0 || err == -EINVAL);
	if (!err) {
		FUZZ_ASSERT(ss.ss_family == AF_INET || ss.ss_family == AF_INET6);
		FUZZ_ASSERT(len == (ss.ss_family == AF_INET ? sizeof(struct sockaddr_in)
							    : sizeof(struct sockaddr_in6)));
	}
	free(s);
	return 0;
}
