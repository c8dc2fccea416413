/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A small JSON reader: picks a string out of a document by its key path,
 * walking the structure instead of searching the text (a naive search for
 * "Name" in Docker's config.v2.json would find mount points' names).
 * It is pure: text in, malloc'd string out; nothing is read from files.
 *
 * What it accepts: objects, arrays, strings with the JSON escapes (\uXXXX
 * is decoded to UTF-8; a lone surrogate half becomes U+FFFD), and numbers,
 * true, false and null as bare words it steps over without checking them.
 * It reads to find, not to validate: what it does not step over is not
 * checked either.
 * Containers nest at most JSON_READ_MAX_DEPTH deep below the top object.
 */
#ifndef MEMOBS_JSON_READ_H
#define MEMOBS_JSON_READ_H

#define JSON_READ_MAX_DEPTH 64

/*
 * The string value at a key path in a JSON document, e.g. { "Config",
 * "Labels", "io.kubernetes.pod.name" }: each key but the last names an
 * object member of the object before it, the last a string member.
 * Returns a malloc'd unescaped copy, or NULL: no such key, the value is no
 * string, the document is malformed or truncated before the value, or out
 * of memory. Members are taken in document order: the first of a name
 * whose value is an object (on the way) or a string (at the end) is the
 * one followed, with no retry at a later one. The text after the value is
 * not looked at.
 */
char *json_lookup_string(const char *doc, const char *const *keys, int nr_keys);

#endif /* MEMOBS_JSON_READ_H */
