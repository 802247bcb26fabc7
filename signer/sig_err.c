/*
 * sig_err: one-line error messages for the signature library, with
 * OpenSSL's error queue drained into them so a failure says why.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "regward/sig.h"

void
sig_err_set(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void
sig_err_openssl(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	unsigned long e;
	size_t used;
	const char *sep = ": ";
	char reason[256];

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		(void)vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	while ((e = ERR_get_error()) != 0) {
		if (err == NULL || errlen == 0)
			continue;
		ERR_error_string_n(e, reason, sizeof(reason));
		used = strlen(err);
		if (used + 1 < errlen)
			(void)snprintf(
			    err + used, errlen - used, "%s%s", sep, reason);
		sep = "; ";
	}
}
