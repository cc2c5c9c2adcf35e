/* SPDX-License-Identifier: MIT */
/*
 * daemon/remote/s3_request.c — the client and one request: a curl easy handle set up for a
 * path-style S3 URL, signed by libcurl (CURLOPT_AWS_SIGV4), the body read from memory or a file
 * range, the reply streamed to a file descriptor or kept for its XML.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "s3_int.h"

/* An XML reply or error document larger than this is not one we asked for. */
#define S3_RESP_MAX (16u << 20)

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int global_err;

static void global_init_once(void)
{
	/* curl_global_init is not thread-safe before 7.84: hence once, before threads use it. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		global_err = -EIO;
	xmlInitParser();
}

int s3_global_init(void)
{
	pthread_once(&global_once, global_init_once);
	return global_err;
}

static int endpoint_valid(const char *e)
{
	const char *host;

	if (strncmp(e, "http://", 7) == 0)
		host = e + 7;
	else if (strncmp(e, "https://", 8) == 0)
		host = e + 8;
	else
		return 0;
	/* host[:port] only: the bucket and key make the path. */
	return *host && !strpbrk(host, "/?#@ ");
}

struct s3_client *s3_client_new(const struct s3_config *cfg)
{
	struct s3_client *c;

	if (!cfg || !cfg->endpoint || !cfg->region || !cfg->access_key || !cfg->secret_key ||
	    !endpoint_valid(cfg->endpoint) || !*cfg->region || strchr(cfg->region, ':') ||
	    strlen(cfg->region) > 64) {
		errno = EINVAL;
		return NULL;
	}
	if (s3_global_init() < 0) {
		errno = EIO;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->endpoint = strdup(cfg->endpoint);
	c->access_key = strdup(cfg->access_key);
	c->secret_key = strdup(cfg->secret_key);
	c->ca_file = cfg->ca_file ? strdup(cfg->ca_file) : NULL;
	c->curl = curl_easy_init();
	if (!c->endpoint || !c->access_key || !c->secret_key || !c->curl ||
	    (cfg->ca_file && !c->ca_file)) {
		s3_client_free(c);
		errno = ENOMEM;
		return NULL;
	}
	snprintf(c->sigv4, sizeof(c->sigv4), "aws:amz:%s:s3", cfg->region);
	c->connect_timeout_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 10000;
	c->stall_timeout_s = cfg->stall_timeout_s > 0 ? cfg->stall_timeout_s : 60;
	return c;
}

static void free_secret(char *s)
{
	if (!s)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

void s3_client_free(struct s3_client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free(c->endpoint);
	free(c->ca_file);
	free_secret(c->access_key);
	free_secret(c->secret_key);
	free(c);
}

const char *s3_client_error(const struct s3_client *c, long *http_status)
{
	if (http_status)
		*http_status = c->http_status;
	return c->err_code;
}

int s3_set_error(struct s3_client *c, int err, const char *code, const char *msg)
{
	snprintf(c->err_code, sizeof(c->err_code), "%s", code);
	snprintf(c->err_msg, sizeof(c->err_msg), "%s", msg);
	return err;
}

int s3_errno_of(long status, const char *code)
{
	static const struct {
		const char *code;
		int err;
	} codes[] = {
		{ "NoSuchKey", -ENOENT },
		{ "NoSuchBucket", -ENOENT },
		{ "NoSuchUpload", -ENOENT },
		{ "AccessDenied", -EACCES },
		{ "InvalidAccessKeyId", -EACCES },
		{ "SignatureDoesNotMatch", -EACCES },
		{ "BucketAlreadyExists", -EEXIST },
		{ "BucketAlreadyOwnedByYou", -EEXIST },
		{ "BucketNotEmpty", -ENOTEMPTY },
		{ "BadDigest", -EBADMSG },
		{ "InvalidDigest", -EBADMSG },
		{ "XAmzContentSHA256Mismatch", -EBADMSG },
		{ "SlowDown", -EAGAIN },
		{ "ServiceUnavailable", -EAGAIN },
		{ "InternalError", -EAGAIN },
		{ "RequestTimeout", -EAGAIN },
	};

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strcmp(code, codes[i].code) == 0)
			return codes[i].err;
	if (status == 404)
		return -ENOENT;
	if (status == 401 || status == 403)
		return -EACCES;
	if (status == 409)
		return -EEXIST;
	if (status >= 500)
		return -EAGAIN;
	return -EINVAL;
}

char *s3_escape(struct s3_client *c, const char *s, int keep_slash)
{
	size_t cap = 3 * strlen(s) + 1, len = 0;
	char *out = malloc(cap);

	if (!out)
		return NULL;
	/* curl_easy_escape keeps exactly RFC 3986's unreserved set, as SigV4 wants; a key's '/'
	 * separates segments escaped one by one. */
	while (out) {
		size_t seg = keep_slash ? strcspn(s, "/") : strlen(s);
		char *e = curl_easy_escape(c->curl, s, (int)seg);

		if (!e) {
			free(out);
			return NULL;
		}
		memcpy(out + len, e, strlen(e));
		len += strlen(e);
		curl_free(e);
		s += seg;
		if (!*s)
			break;
		out[len++] = *s++;
	}
	out[len] = '\0';
	return out;
}

static size_t read_body(char *buf, size_t size, size_t n, void *arg)
{
	struct s3_req *r = arg;
	uint64_t left = r->body_len - r->body_pos;
	size_t want = size * n < left ? size * n : (size_t)left;
	ssize_t got;

	if (!want)
		return 0;
	if (r->body) {
		memcpy(buf, (const char *)r->body + r->body_pos, want);
		got = (ssize_t)want;
	} else {
		got = pread(r->body_fd, buf, want, r->body_off + (off_t)r->body_pos);
		if (got <= 0) {
			r->out_errno = got < 0 ? errno : EIO;
			return CURL_READFUNC_ABORT;
		}
	}
	r->body_pos += (uint64_t)got;
	return (size_t)got;
}

/* curl rewinds the body when it must send it again (a redirect, an expectation refused). */
static int seek_body(void *arg, curl_off_t off, int origin)
{
	struct s3_req *r = arg;

	if (origin != SEEK_SET || off < 0 || (uint64_t)off > r->body_len)
		return CURL_SEEKFUNC_FAIL;
	r->body_pos = (uint64_t)off;
	return CURL_SEEKFUNC_OK;
}

static int buf_append(struct s3_buf *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *d;

		while (cap < b->len + n + 1)
			cap *= 2;
		if (cap > S3_RESP_MAX)
			return -EFBIG;
		d = realloc(b->data, cap);
		if (!d)
			return -ENOMEM;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

static int write_fd(struct s3_req *r, const char *p, size_t n)
{
	if (r->out_md5 && EVP_DigestUpdate(r->out_md5, p, n) != 1)
		return -EIO;
	while (n) {
		ssize_t w = write(r->out_fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
		r->out_bytes += (uint64_t)w;
	}
	return 0;
}

struct write_ctx {
	struct s3_client *c;
	struct s3_req *r;
};

static size_t write_resp(char *p, size_t size, size_t n, void *arg)
{
	struct write_ctx *w = arg;
	long status = 0;
	int err;

	curl_easy_getinfo(w->c->curl, CURLINFO_RESPONSE_CODE, &status);
	/* Only a 2xx body is the object; an error's body is its XML, kept for the message. */
	if (w->r->out_fd >= 0 && status >= 200 && status < 300)
		err = write_fd(w->r, p, size * n);
	else
		err = buf_append(&w->r->resp, p, size * n);
	if (err < 0) {
		w->r->out_errno = -err;
		return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
	}
	return size * n;
}

static void header_value(const char *h, size_t n, char *out, size_t cap)
{
	const char *v = memchr(h, ':', n);
	size_t len;

	if (!v)
		return;
	for (v++; v < h + n && (*v == ' ' || *v == '"'); v++)
		;
	len = (size_t)(h + n - v);
	while (len &&
	       (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == '"' || v[len - 1] == ' '))
		len--;
	if (len >= cap)
		len = cap - 1;
	memcpy(out, v, len);
	out[len] = '\0';
}

static size_t header_resp(char *h, size_t size, size_t n, void *arg)
{
	struct s3_req *r = arg;
	size_t len = size * n;
	char num[32] = "";

	/* A new status line (after "100 Continue") starts the headers that count. */
	if (len >= 5 && strncmp(h, "HTTP/", 5) == 0) {
		r->etag[0] = '\0';
		r->have_content_length = 0;
	} else if (len > 5 && strncasecmp(h, "ETag:", 5) == 0) {
		header_value(h, len, r->etag, sizeof(r->etag));
	} else if (len > 15 && strncasecmp(h, "Content-Length:", 15) == 0) {
		header_value(h, len, num, sizeof(num));
		r->content_length = strtoull(num, NULL, 10);
		r->have_content_length = 1;
	}
	return len;
}

static char *request_url(struct s3_client *c, const struct s3_req *r)
{
	char *bucket = s3_escape(c, r->bucket, 0);
	char *key = r->key ? s3_escape(c, r->key, 1) : NULL;
	char *url = NULL;

	if (bucket && (key || !r->key) &&
	    asprintf(&url, "%s/%s%s%s%s%s", c->endpoint, bucket, key ? "/" : "", key ? key : "",
		     r->query ? "?" : "", r->query ? r->query : "") < 0)
		url = NULL;
	free(bucket);
	free(key);
	return url;
}

static struct curl_slist *request_headers(const struct s3_req *r)
{
	struct curl_slist *h = NULL, *n;
	char line[128];

	/* radosgw refuses a SigV4 request without it; libcurl signs the value given here. */
	snprintf(line, sizeof(line), "x-amz-content-sha256: %s", r->sha256_hex);
	h = curl_slist_append(h, line);
	if (h && r->content_md5) {
		snprintf(line, sizeof(line), "Content-MD5: %s", r->content_md5);
		n = curl_slist_append(h, line);
		h = n ? n : (curl_slist_free_all(h), NULL);
	}
	if (h) {
		snprintf(line, sizeof(line), "Content-Type: %s",
			 r->content_type ? r->content_type : "application/octet-stream");
		n = curl_slist_append(h, line);
		h = n ? n : (curl_slist_free_all(h), NULL);
	}
	return h;
}

static void setup_body(CURL *e, struct s3_req *r)
{
	if (strcmp(r->method, "PUT") == 0 || strcmp(r->method, "POST") == 0) {
		curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body_len);
		curl_easy_setopt(e, CURLOPT_READFUNCTION, read_body);
		curl_easy_setopt(e, CURLOPT_READDATA, r);
		curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, seek_body);
		curl_easy_setopt(e, CURLOPT_SEEKDATA, r);
	}
	if (strcmp(r->method, "HEAD") == 0)
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	/* CURLOPT_UPLOAD means PUT: the method is named explicitly for the others. */
	if (strcmp(r->method, "PUT") != 0 && strcmp(r->method, "GET") != 0 &&
	    strcmp(r->method, "HEAD") != 0)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
}

static int setup(struct s3_client *c, struct s3_req *r, const char *url, struct curl_slist *h,
		 struct write_ctx *w)
{
	CURL *e = c->curl;

	curl_easy_reset(e);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for timeouts */
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	if (c->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
	curl_easy_setopt(e, CURLOPT_AWS_SIGV4, c->sigv4);
	curl_easy_setopt(e, CURLOPT_USERNAME, c->access_key);
	curl_easy_setopt(e, CURLOPT_PASSWORD, c->secret_key);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, c->stall_timeout_s);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_resp);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, w);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_resp);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	setup_body(e, r);
	return 0;
}

static int transport_errno(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_URL_MALFORMAT:
		return -EINVAL;
	default:
		return -EIO;
	}
}

static int finish(struct s3_client *c, struct s3_req *r, CURLcode rc)
{
	long status = 0;

	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	c->http_status = status;
	if ((rc == CURLE_WRITE_ERROR || rc == CURLE_ABORTED_BY_CALLBACK ||
	     rc == CURLE_READ_ERROR) &&
	    r->out_errno)
		return s3_set_error(c, -r->out_errno, "", "local read or write failed");
	if (rc != CURLE_OK)
		return s3_set_error(c, transport_errno(rc), "", curl_easy_strerror(rc));
	if (status >= 200 && status < 300)
		return 0;
	s3_xml_error(c, &r->resp);
	return s3_errno_of(status, c->err_code);
}

int s3_perform(struct s3_client *c, struct s3_req *r)
{
	struct write_ctx w = { c, r };
	struct curl_slist *h;
	char *url;
	int err;

	c->http_status = 0;
	c->err_code[0] = c->err_msg[0] = '\0';
	if (!r->bucket || !*r->bucket || (r->key && !*r->key))
		return s3_set_error(c, -EINVAL, "", "empty bucket or key");
	url = request_url(c, r);
	h = request_headers(r);
	if (!url || !h) {
		free(url);
		curl_slist_free_all(h);
		return s3_set_error(c, -ENOMEM, "", "out of memory");
	}
	r->body_pos = 0;
	setup(c, r, url, h, &w);
	err = finish(c, r, curl_easy_perform(c->curl));
	/* Nothing of the request is kept on the handle: the secret only lives in the client. */
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(h);
	free(url);
	return err;
}

void s3_req_release(struct s3_req *r)
{
	free(r->resp.data);
	r->resp.data = NULL;
	r->resp.len = r->resp.cap = 0;
}
