/* SPDX-License-Identifier: MIT */
/*
 * daemon/remote/s3_xml.c — reading S3's XML replies with libxml2: no network access and no
 * entity substitution (a reply is data, never instructions to the parser).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>

#include "s3_int.h"

xmlDocPtr s3_xml_parse(const struct s3_buf *b)
{
	if (!b->data || !b->len || b->len > (size_t)INT32_MAX)
		return NULL;
	return xmlReadMemory(b->data, (int)b->len, "s3.xml", NULL,
			     XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

xmlNodePtr s3_xml_child(xmlNodePtr parent, const char *name)
{
	for (xmlNodePtr n = parent ? parent->children : NULL; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, BAD_CAST name) == 0)
			return n;
	return NULL;
}

char *s3_xml_child_text(xmlNodePtr parent, const char *name)
{
	xmlNodePtr n = s3_xml_child(parent, name);

	return n ? (char *)xmlNodeGetContent(n) : NULL;
}

int s3_xml_child_copy(xmlNodePtr parent, const char *name, char *out, size_t cap)
{
	char *t = s3_xml_child_text(parent, name);
	int err = 0;

	if (!t)
		return -ENOENT;
	if (strlen(t) >= cap)
		err = -E2BIG;
	else
		memcpy(out, t, strlen(t) + 1);
	xmlFree(t);
	return err;
}

void s3_xml_error(struct s3_client *c, const struct s3_buf *b)
{
	xmlDocPtr doc = s3_xml_parse(b);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;

	if (root && xmlStrcmp(root->name, BAD_CAST "Error") == 0) {
		char *code = s3_xml_child_text(root, "Code");
		char *msg = s3_xml_child_text(root, "Message");

		s3_set_error(c, 0, code ? code : "", msg ? msg : "");
		xmlFree(code);
		xmlFree(msg);
	}
	xmlFreeDoc(doc);
}
