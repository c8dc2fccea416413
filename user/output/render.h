/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one renderer of memobs's JSON lines: a record (output/records.h) in,
 * one JSON object out. Every field name of docs/output.md is written here
 * and nowhere else. stdout is data: one object per line, line-buffered.
 */
#ifndef MEMOBS_RENDER_H
#define MEMOBS_RENDER_H

#include <stdio.h>
#include "output/records.h"
#include "util/json.h"

/* The record's "type" value ("sample", "leak", ...). */
const char *record_type__str(enum record_type type);

/* Renders r as one JSON object into j (reset first). */
void render__record(struct json *j, const struct record *r);
/* Renders r and writes it as one line. Returns 0 or -errno (-EIO: out is gone). */
int render__line(FILE *out, struct json *j, const struct record *r);

#endif /* MEMOBS_RENDER_H */
