/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The JSON-lines emitter: one object per line on stdout, line-buffered.
 * Every line begins with the common fields: ts, type, cgroup {id, path},
 * container. The format is documented in docs/output.md.
 */
#ifndef MEMOBS_EMIT_H
#define MEMOBS_EMIT_H

#include <stdio.h>
#include "util/json.h"
#include "pipeline/pipeline.h"
#include "model/snapshot.h"

/* Opens the line's object and writes the common fields (cg may be NULL). */
void emit_common(struct json *j, const char *type, __u64 ts_ms, const struct cgroup_stat *cg);
/* The measured fields of a cgroup, as on "sample" lines. */
void emit_sample_fields(struct json *j, const struct cgroup_stat *cg);

/* Whole lines. Each returns 0 or -errno (-EIO when stdout is gone). */
int emit_samples(FILE *out, struct json *j, const struct snapshot *snap, bool with_malloc);
int emit_event(FILE *out, struct json *j, const struct pipeline_event *ev);
int emit_stats(FILE *out, struct json *j, __u64 ts_ms, const struct pipeline_stats *st);

#endif /* MEMOBS_EMIT_H */
