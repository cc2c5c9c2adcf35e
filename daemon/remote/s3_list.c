/* SPDX-License-Identifier: MIT */
/*
 * daemon/remote/s3_list.c — ListObjectsV2: one request per page of at most max-keys objects,
 * following NextContinuationToken while IsTruncated says there is more. The reply is read with
 * libxml2.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3_int.h"

/* The canonical query SigV4 wants: names in byte order, values escaped. */
static char *list_query(struct s3_client *c, const char *prefix, unsigned max_keys,
			const char *token)
{
	char *p = s3_escape(c, prefix ? prefix : "", 0);
	char *t = token ? s3_escape(c, token, 0) : NULL;
	char *q = NULL;

	if (p && (t || !token) &&
	    asprintf(&q, "%s%s%slist-type=2&max-keys=%u&prefix=%s", t ? "continuation-token=" : "",
		     t ? t : "", t ? "&" : "", max_keys ? max_keys : 1000, p) < 0)
		q = NULL;
	free(p);
	free(t);
	return q;
}

static int list_entry(struct s3_client *c, xmlNodePtr n, s3_list_fn fn, void *arg)
{
	struct s3_object_info info = { 0 };
	char size[32], *key, *end;
	int err;

	if (s3_xml_child_copy(n, "Size", size, sizeof(size)) < 0)
		return s3_set_error(c, -EBADMSG, "", "a listed object without a Size");
	info.size = strtoull(size, &end, 10);
	if (*end || end == size)
		return s3_set_error(c, -EBADMSG, "", "a listed object's Size is not a number");
	if (s3_xml_child_copy(n, "ETag", info.etag, sizeof(info.etag)) == 0 &&
	    info.etag[0] == '"') {
		size_t len = strlen(info.etag);

		memmove(info.etag, info.etag + 1, len);
		if (len >= 2 && info.etag[len - 2] == '"')
			info.etag[len - 2] = '\0';
	}
	key = s3_xml_child_text(n, "Key");
	if (!key)
		return s3_set_error(c, -EBADMSG, "", "a listed object without a Key");
	err = fn(key, &info, arg);
	xmlFree(key);
	return err;
}

/* One page's objects to @fn; *@token becomes the next page's token, or NULL at the end. */
static int list_page_parse(struct s3_client *c, const struct s3_buf *b, s3_list_fn fn, void *arg,
			   char **token)
{
	xmlDocPtr doc = s3_xml_parse(b);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
	char *truncated;
	int err = 0;

	*token = NULL;
	if (!root || xmlStrcmp(root->name, BAD_CAST "ListBucketResult") != 0) {
		xmlFreeDoc(doc);
		return s3_set_error(c, -EBADMSG, "", "the reply is no ListBucketResult");
	}
	for (xmlNodePtr n = root->children; n && !err; n = n->next)
		if (n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, BAD_CAST "Contents") == 0)
			err = list_entry(c, n, fn, arg);
	truncated = s3_xml_child_text(root, "IsTruncated");
	if (!err && truncated && strcmp(truncated, "true") == 0) {
		char *t = s3_xml_child_text(root, "NextContinuationToken");

		*token = t && *t ? strdup(t) : NULL;
		if (!*token)
			err = s3_set_error(c, -EBADMSG, "",
					   "truncated without a continuation token");
		xmlFree(t);
	}
	xmlFree(truncated);
	xmlFreeDoc(doc);
	return err;
}

static int list_page(struct s3_client *c, const char *bucket, const char *prefix, unsigned max_keys,
		     s3_list_fn fn, void *arg, char **token)
{
	struct s3_req r = { .method = "GET", .bucket = bucket, .body_fd = -1, .out_fd = -1 };
	unsigned char md5[16];
	char *query = list_query(c, prefix, max_keys, *token);
	int err;

	free(*token);
	*token = NULL;
	if (!query)
		return s3_set_error(c, -ENOMEM, "", "out of memory");
	r.query = query;
	err = s3_digest_mem(NULL, 0, r.sha256_hex, md5);
	if (!err)
		err = s3_perform(c, &r);
	if (!err)
		err = list_page_parse(c, &r.resp, fn, arg, token);
	s3_req_release(&r);
	free(query);
	return err;
}

int s3_list_objects(struct s3_client *c, const char *bucket, const char *prefix, unsigned max_keys,
		    s3_list_fn fn, void *arg, unsigned *pages)
{
	char *token = NULL;
	unsigned n = 0;
	int err;

	if (max_keys > 1000 || !fn)
		return s3_set_error(c, -EINVAL, "", "max_keys above 1000 or no callback");
	do {
		err = list_page(c, bucket, prefix, max_keys, fn, arg, &token);
		n++;
	} while (!err && token);
	free(token);
	if (!err && pages)
		*pages = n;
	return err;
}
