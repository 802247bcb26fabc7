/*
 * metrics: counters and the Prometheus exposition.
 */
#include <http_parser.h>
#include <stddef.h>

#include <event2/buffer.h>

#include "metrics.h"

/* Methods a registry sees get their own row; the rest share "OTHER". */
static const unsigned metrics_methods[] = {HTTP_GET, HTTP_HEAD, HTTP_PUT,
    HTTP_POST, HTTP_PATCH, HTTP_DELETE, HTTP_OPTIONS};
#define METRICS_NMETHODS (sizeof(metrics_methods) / sizeof(metrics_methods[0]))
#define METRICS_STATUS_MIN 100
#define METRICS_STATUS_MAX 599

static const double metrics_buckets[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
    0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
#define METRICS_NBUCKETS (sizeof(metrics_buckets) / sizeof(metrics_buckets[0]))

static struct {
	uint64_t requests[METRICS_NMETHODS + 1]
			 [METRICS_STATUS_MAX - METRICS_STATUS_MIN + 1];
	uint64_t bytes_in, bytes_out;
	uint64_t conns_total;
	int64_t conns_open;
	uint64_t upstream_err[METRICS_UP__COUNT];
	uint64_t upstream_new, upstream_reused;
	uint64_t password_checks;
	uint64_t hist[METRICS_NBUCKETS];
	uint64_t hist_count;
	double hist_sum;
} m;

static size_t
metrics_method_index(unsigned method)
{
	size_t i;

	for (i = 0; i < METRICS_NMETHODS; i++)
		if (metrics_methods[i] == method)
			return i;
	return METRICS_NMETHODS;
}

void
metrics_request(unsigned method, int status, uint64_t bytes_in,
    uint64_t bytes_out, double seconds)
{
	size_t i;

	if (status < METRICS_STATUS_MIN || status > METRICS_STATUS_MAX)
		status = METRICS_STATUS_MAX; /* aborted: counted as 599 */
	m.requests[metrics_method_index(method)][status - METRICS_STATUS_MIN]++;
	m.bytes_in += bytes_in;
	m.bytes_out += bytes_out;
	for (i = 0; i < METRICS_NBUCKETS; i++)
		if (seconds <= metrics_buckets[i])
			m.hist[i]++;
	m.hist_count++;
	m.hist_sum += seconds;
}

void
metrics_conn_open(void)
{
	m.conns_total++;
	m.conns_open++;
}

void
metrics_conn_close(void)
{
	m.conns_open--;
}

void
metrics_upstream_error(enum metrics_upstream_err kind)
{
	if ((unsigned)kind < METRICS_UP__COUNT)
		m.upstream_err[kind]++;
}

void
metrics_password_check(void)
{
	m.password_checks++;
}

void
metrics_upstream_conn(int reused)
{
	if (reused)
		m.upstream_reused++;
	else
		m.upstream_new++;
}

int
metrics_render(struct evbuffer *out)
{
	static const char *const up_kind[METRICS_UP__COUNT] = {
	    "connect", "timeout", "reset", "protocol"};
	size_t i, s;
	int r = 0;

	r |= evbuffer_add_printf(out,
	    "# HELP regward_requests_total Requests answered, by method and "
	    "status (599: aborted).\n"
	    "# TYPE regward_requests_total counter\n");
	for (i = 0; i <= METRICS_NMETHODS; i++) {
		for (s = 0; s <= METRICS_STATUS_MAX - METRICS_STATUS_MIN; s++) {
			if (m.requests[i][s] == 0)
				continue;
			r |= evbuffer_add_printf(out,
			    "regward_requests_total{method=\"%s\",code=\"%zu\"}"
			    " %llu\n",
			    i < METRICS_NMETHODS
				? http_method_str(metrics_methods[i])
				: "OTHER",
			    s + METRICS_STATUS_MIN,
			    (unsigned long long)m.requests[i][s]);
		}
	}
	r |= evbuffer_add_printf(out,
	    "# HELP regward_received_bytes_total Bytes received from clients.\n"
	    "# TYPE regward_received_bytes_total counter\n"
	    "regward_received_bytes_total %llu\n"
	    "# HELP regward_sent_bytes_total Bytes sent to clients.\n"
	    "# TYPE regward_sent_bytes_total counter\n"
	    "regward_sent_bytes_total %llu\n"
	    "# HELP regward_connections_open Client connections open now.\n"
	    "# TYPE regward_connections_open gauge\n"
	    "regward_connections_open %lld\n"
	    "# HELP regward_connections_total Client connections accepted.\n"
	    "# TYPE regward_connections_total counter\n"
	    "regward_connections_total %llu\n"
	    "# HELP regward_upstream_connections_total Upstream connections "
	    "used, new or reused from the pool.\n"
	    "# TYPE regward_upstream_connections_total counter\n"
	    "regward_upstream_connections_total{reused=\"false\"} %llu\n"
	    "regward_upstream_connections_total{reused=\"true\"} %llu\n"
	    "# HELP regward_upstream_errors_total Upstream failures by kind.\n"
	    "# TYPE regward_upstream_errors_total counter\n",
	    (unsigned long long)m.bytes_in, (unsigned long long)m.bytes_out,
	    (long long)m.conns_open, (unsigned long long)m.conns_total,
	    (unsigned long long)m.upstream_new,
	    (unsigned long long)m.upstream_reused);
	for (i = 0; i < METRICS_UP__COUNT; i++)
		r |= evbuffer_add_printf(out,
		    "regward_upstream_errors_total{kind=\"%s\"} %llu\n",
		    up_kind[i], (unsigned long long)m.upstream_err[i]);
	r |= evbuffer_add_printf(out,
	    "# HELP regward_password_checks_total Logins checked with the slow "
	    "password hash (not answered from the login cache).\n"
	    "# TYPE regward_password_checks_total counter\n"
	    "regward_password_checks_total %llu\n",
	    (unsigned long long)m.password_checks);
	r |= evbuffer_add_printf(out,
	    "# HELP regward_request_duration_seconds Time from the first byte "
	    "of a request to the last byte of its response.\n"
	    "# TYPE regward_request_duration_seconds histogram\n");
	for (i = 0; i < METRICS_NBUCKETS; i++)
		r |= evbuffer_add_printf(out,
		    "regward_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
		    metrics_buckets[i], (unsigned long long)m.hist[i]);
	r |= evbuffer_add_printf(out,
	    "regward_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
	    "regward_request_duration_seconds_sum %.6f\n"
	    "regward_request_duration_seconds_count %llu\n",
	    (unsigned long long)m.hist_count, m.hist_sum,
	    (unsigned long long)m.hist_count);
	return r < 0 ? -1 : 0;
}
