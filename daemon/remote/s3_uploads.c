/* SPDX-License-Identifier: MIT */
/*
 * daemon/remote/s3_uploads.c — ListMultipartUploads (s3.h): the multipart uploads in progress
 * under a prefix, so that an uploader can abort what an earlier failure left (a create whose
 * reply was lost, an abort that could not reach the server). One page of up to 1000.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3_int.h"

static int uploads_parse(struct s3_client *c, const struct s3_buf *b, s3_upload_fn fn, void *arg)
{
	xmlDocPtr doc = s3_xml_parse(b);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
	int err = 0;

	if (!root || xmlStrcmp(root->name, BAD_CAST "ListMultipartUploadsResult") != 0) {
		xmlFreeDoc(doc);
		return s3_set_error(c, -EBADMSG, "", "the reply is no ListMultipartUploadsResult");
	}
	for (xmlNodePtr n = root->children; n && !err; n = n->next) {
		char *key, *id;

		if (n->type != XML_ELEMENT_NODE || xmlStrcmp(n->name, BAD_CAST "Upload") != 0)
			continue;
		key = s3_xml_child_text(n, "Key");
		id = s3_xml_child_text(n, "UploadId");
		err = key && id ? fn(key, id, arg)
				: s3_set_error(c, -EBADMSG, "", "an upload without Key or UploadId");
		xmlFree(key);
		xmlFree(id);
	}
	xmlFreeDoc(doc);
	return err;
}

int s3_multipart_list(struct s3_client *c, const char *bucket, const char *prefix,
		      s3_upload_fn fn, void *arg)
{
	struct s3_req r = { .method = "GET", .bucket = bucket, .body_fd = -1, .out_fd = -1 };
	unsigned char md5[16];
	char *p = s3_escape(c, prefix ? prefix : "", 0), *query = NULL;
	int err;

	/* the canonical query: names in byte order, "uploads" with an empty value */
	if (!p || asprintf(&query, "prefix=%s&uploads=", p) < 0) {
		free(p);
		return s3_set_error(c, -ENOMEM, "", "out of memory");
	}
	free(p);
	r.query = query;
	err = s3_digest_mem(NULL, 0, r.sha256_hex, md5);
	if (!err)
		err = s3_perform(c, &r);
	if (!err)
		err = uploads_parse(c, &r.resp, fn, arg);
	s3_req_release(&r);
	free(query);
	return err;
}
