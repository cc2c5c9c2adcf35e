/* SPDX-License-Identifier: MIT */
/*
 * daemon/remote/s3_multipart.c — multipart upload: create (POST ?uploads), upload part (PUT
 * ?partNumber&uploadId, its ETag checked against the part's MD5), complete (POST ?uploadId with
 * the parts' list, written with libxml2; the object's ETag checked as the MD5 of the parts'
 * MD5s), abort (DELETE ?uploadId).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "s3_int.h"

struct s3_part {
	unsigned char md5[16];
	int uploaded;
};

struct s3_multipart {
	char *bucket;
	char *key;
	char *upload_id;
	char *upload_id_escaped;
	struct s3_part *parts; /* indexed by part number - 1 */
	unsigned nparts;       /* the highest part number seen */
};

static void mp_free(struct s3_multipart *mp)
{
	if (!mp)
		return;
	free(mp->bucket);
	free(mp->key);
	free(mp->upload_id);
	free(mp->upload_id_escaped);
	free(mp->parts);
	free(mp);
}

const char *s3_multipart_id(const struct s3_multipart *mp)
{
	return mp->upload_id;
}

/* A request on the upload (@body may be NULL): query "@extra" or "uploadId=<id>". */
static int mp_request(struct s3_client *c, struct s3_multipart *mp, struct s3_req *r,
		      const char *method, const char *query, const void *body, size_t len,
		      unsigned char md5[16])
{
	r->method = method;
	r->bucket = mp->bucket;
	r->key = mp->key;
	r->query = query;
	r->body = body ? body : "";
	r->body_len = len;
	r->body_fd = -1;
	r->out_fd = -1;
	return s3_digest_mem(body, len, r->sha256_hex, md5);
}

static int parse_upload_id(struct s3_client *c, struct s3_multipart *mp, const struct s3_buf *b)
{
	xmlDocPtr doc = s3_xml_parse(b);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
	char *id = root ? s3_xml_child_text(root, "UploadId") : NULL;

	if (id && *id)
		mp->upload_id = strdup(id);
	xmlFree(id);
	xmlFreeDoc(doc);
	if (!mp->upload_id)
		return s3_set_error(c, -EBADMSG, "", "no UploadId in the reply");
	mp->upload_id_escaped = s3_escape(c, mp->upload_id, 0);
	return mp->upload_id_escaped ? 0 : -ENOMEM;
}

int s3_multipart_resume(struct s3_client *c, const char *bucket, const char *key,
			const char *upload_id, struct s3_multipart **out)
{
	struct s3_multipart *mp = calloc(1, sizeof(*mp));

	*out = NULL;
	if (!mp || !(mp->bucket = strdup(bucket)) || !(mp->key = strdup(key)) ||
	    !(mp->upload_id = strdup(upload_id)) ||
	    !(mp->upload_id_escaped = s3_escape(c, upload_id, 0))) {
		mp_free(mp);
		return s3_set_error(c, -ENOMEM, "", "out of memory");
	}
	*out = mp;
	return 0;
}

int s3_multipart_create(struct s3_client *c, const char *bucket, const char *key,
			struct s3_multipart **out)
{
	struct s3_multipart *mp = calloc(1, sizeof(*mp));
	struct s3_req r = { 0 };
	unsigned char md5[16];
	int err;

	*out = NULL;
	if (!mp || !bucket || !key) {
		free(mp);
		return s3_set_error(c, mp ? -EINVAL : -ENOMEM, "", "no bucket or key");
	}
	mp->bucket = strdup(bucket);
	mp->key = strdup(key);
	err = mp->bucket && mp->key ? 0 : -ENOMEM;
	/* "uploads=": the canonical form of the bare "uploads" SigV4 signs. */
	if (!err)
		err = mp_request(c, mp, &r, "POST", "uploads=", NULL, 0, md5);
	if (!err)
		err = s3_perform(c, &r);
	if (!err)
		err = parse_upload_id(c, mp, &r.resp);
	s3_req_release(&r);
	if (err) {
		mp_free(mp);
		return err;
	}
	*out = mp;
	return 0;
}

static int remember_part(struct s3_multipart *mp, unsigned number, const unsigned char md5[16])
{
	if (number > mp->nparts) {
		struct s3_part *p = realloc(mp->parts, number * sizeof(*p));

		if (!p)
			return -ENOMEM;
		memset(p + mp->nparts, 0, (number - mp->nparts) * sizeof(*p));
		mp->parts = p;
		mp->nparts = number;
	}
	memcpy(mp->parts[number - 1].md5, md5, 16);
	mp->parts[number - 1].uploaded = 1;
	return 0;
}

int s3_multipart_upload_part(struct s3_client *c, struct s3_multipart *mp, unsigned part_number,
			     const void *data, size_t len)
{
	struct s3_req r = { 0 };
	unsigned char md5[16];
	char md5_b64[25];
	char *query = NULL;
	int err;

	if (!mp || part_number < 1 || part_number > S3_PART_MAX_COUNT || (!data && len))
		return s3_set_error(c, -EINVAL, "", "bad part number or no data");
	if (asprintf(&query, "partNumber=%u&uploadId=%s", part_number, mp->upload_id_escaped) < 0)
		return -ENOMEM;
	err = mp_request(c, mp, &r, "PUT", query, data, len, md5);
	s3_md5_base64(md5, md5_b64);
	r.content_md5 = md5_b64;
	if (!err)
		err = s3_perform(c, &r);
	if (!err && !s3_etag_matches(r.etag, md5))
		err = s3_set_error(c, -EBADMSG, "ETagMismatch",
				   "the part's ETag is not the MD5 of the part sent");
	if (!err)
		err = remember_part(mp, part_number, md5);
	s3_req_release(&r);
	free(query);
	return err;
}

/* <CompleteMultipartUpload><Part><PartNumber/><ETag/></Part>...</...>, by libxml2. */
static int complete_body(struct s3_multipart *mp, xmlChar **xml, int *len)
{
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr root = doc ? xmlNewNode(NULL, BAD_CAST "CompleteMultipartUpload") : NULL;
	int err = root ? 0 : -ENOMEM;

	if (root)
		xmlDocSetRootElement(doc, root);
	for (unsigned i = 0; i < mp->nparts && !err; i++) {
		char num[16], etag[35] = "\"";
		xmlNodePtr part;

		if (!mp->parts[i].uploaded)
			continue;
		snprintf(num, sizeof(num), "%u", i + 1);
		s3_md5_hex(mp->parts[i].md5, etag + 1);
		strcat(etag, "\"");
		part = xmlNewChild(root, NULL, BAD_CAST "Part", NULL);
		if (!part || !xmlNewTextChild(part, NULL, BAD_CAST "PartNumber", BAD_CAST num) ||
		    !xmlNewTextChild(part, NULL, BAD_CAST "ETag", BAD_CAST etag))
			err = -ENOMEM;
	}
	*xml = NULL;
	if (!err)
		xmlDocDumpMemory(doc, xml, len);
	xmlFreeDoc(doc);
	return err ? err : *xml ? 0 : -ENOMEM;
}

/* The ETag of a completed upload: hex MD5 of the concatenated binary MD5s of the parts, "-N". */
static int check_complete_etag(struct s3_client *c, struct s3_multipart *mp, const char *etag)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md5[16];
	char want[48];
	unsigned n = 0, len;
	int ok;

	ok = ctx && EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1;
	for (unsigned i = 0; ok && i < mp->nparts; i++)
		if (mp->parts[i].uploaded && ++n)
			ok = EVP_DigestUpdate(ctx, mp->parts[i].md5, 16) == 1;
	ok = ok && EVP_DigestFinal_ex(ctx, md5, &len) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -EIO;
	s3_md5_hex(md5, want);
	snprintf(want + 32, sizeof(want) - 32, "-%u", n);
	if (strcasecmp(etag, want) != 0)
		return s3_set_error(c, -EBADMSG, "ETagMismatch",
				    "the object's ETag does not match the parts sent");

	return 0;
}

/* The ETag the completion reports: in its reply, else (radosgw 16 answers <ETag></ETag>) the one
 * a HEAD of the new object gives. */
static int completed_etag(struct s3_client *c, struct s3_multipart *mp, const char *reply_etag,
			  char etag[80])
{
	struct s3_object_info info;
	size_t len;
	int err;

	snprintf(etag, 80, "%s", reply_etag[0] == '"' ? reply_etag + 1 : reply_etag);
	len = strlen(etag);
	if (len && etag[len - 1] == '"')
		etag[--len] = '\0';
	if (len)
		return 0;
	err = s3_head_object(c, mp->bucket, mp->key, &info);
	if (!err)
		memcpy(etag, info.etag, 80);
	return err;
}

/* A completion can fail after "200 OK": the error is then the body (S3's documented quirk). */
static int parse_complete(struct s3_client *c, struct s3_multipart *mp, const struct s3_buf *b)
{
	xmlDocPtr doc = s3_xml_parse(b);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
	char reply_etag[80], etag[80];
	int err;

	if (root && xmlStrcmp(root->name, BAD_CAST "Error") == 0) {
		xmlFreeDoc(doc);
		s3_xml_error(c, b);
		return s3_errno_of(500, c->err_code);
	}
	err = root ? s3_xml_child_copy(root, "ETag", reply_etag, sizeof(reply_etag)) : -EBADMSG;
	xmlFreeDoc(doc);
	if (err)
		return s3_set_error(c, -EBADMSG, "", "no ETag in the completion's reply");
	err = completed_etag(c, mp, reply_etag, etag);
	return err ? err : check_complete_etag(c, mp, etag);
}

int s3_multipart_complete(struct s3_client *c, struct s3_multipart *mp)
{
	struct s3_req r = { 0 };
	unsigned char md5[16];
	xmlChar *xml = NULL;
	char *query = NULL;
	int len = 0, err;

	if (!mp)
		return s3_set_error(c, -EINVAL, "", "no upload");
	err = complete_body(mp, &xml, &len);
	if (!err && asprintf(&query, "uploadId=%s", mp->upload_id_escaped) < 0)
		err = -ENOMEM;
	if (!err)
		err = mp_request(c, mp, &r, "POST", query, xml, (size_t)len, md5);
	r.content_type = "application/xml";
	if (!err)
		err = s3_perform(c, &r);
	if (!err)
		err = parse_complete(c, mp, &r.resp);
	s3_req_release(&r);
	xmlFree(xml);
	free(query);
	if (!err)
		mp_free(mp);
	return err;
}

int s3_multipart_abort(struct s3_client *c, struct s3_multipart *mp)
{
	struct s3_req r = { 0 };
	unsigned char md5[16];
	char *query = NULL;
	int err = 0;

	if (!mp)
		return s3_set_error(c, -EINVAL, "", "no upload");
	if (asprintf(&query, "uploadId=%s", mp->upload_id_escaped) < 0)
		err = -ENOMEM;
	if (!err)
		err = mp_request(c, mp, &r, "DELETE", query, NULL, 0, md5);
	if (!err)
		err = s3_perform(c, &r);
	s3_req_release(&r);
	free(query);
	if (!err)
		mp_free(mp);
	return err;
}

void s3_multipart_free(struct s3_multipart *mp)
{
	mp_free(mp);
}
