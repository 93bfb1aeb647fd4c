/* SPDX-License-Identifier: Apache-2.0 */
/* Counter totals and output values across restarts.  Counters are written
 * at most every persist_interval_s (SD cards wear out), and on exit; an
 * output change is written at once, since it is rare and the value a relay
 * comes back with must be the last one set. */
#include "gpio-internal.h"
#include "jsonfile.h"
#include "log.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void gl_persist_init(struct gl_driver *d)
{
	const char *dir = d->cfg->state_dir;

	if (!dir)
		return;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fb_log_errno(FB_LOG_WARNING, "bus %s: state_dir %s: cannot create it; counters "
			     "and outputs will not survive a restart", d->bus->name, dir);
		return;
	}
	if (asprintf(&d->state_path, "%s/gpio-%s.json", dir, d->bus->name) < 0)
		d->state_path = NULL;
}

static bool persisted(const struct gl_point *p)
{
	return p->cfg.role == FB_GPIO_COUNTER ||
	       (p->cfg.role == FB_GPIO_OUTPUT && p->cfg.restore);
}

void gl_persist_load(struct gl_driver *d)
{
	struct fb_diag diag;
	cJSON *root, *dev, *v;

	if (!d->state_path || access(d->state_path, F_OK) < 0)
		return;
	fb_diag_init(&diag);
	root = fb_json_load_file(d->state_path, &diag);
	if (!root) {
		fb_diag_log(&diag);
		fb_warn("bus %s: %s unreadable: counters start at 0, outputs at their "
			"initial values", d->bus->name, d->state_path);
		fb_diag_free(&diag);
		return;
	}
	fb_diag_free(&diag);
	for (size_t i = 0; i < d->npoints; i++) {
		struct gl_point *p = &d->points[i];

		if (!persisted(p))
			continue;
		dev = cJSON_GetObjectItemCaseSensitive(root, p->dev->id);
		v = cJSON_GetObjectItemCaseSensitive(dev, p->def->key);
		if (p->cfg.role == FB_GPIO_COUNTER && cJSON_IsString(v))
			p->ctr.pulses = strtoull(v->valuestring, NULL, 10);
		else if (p->cfg.role == FB_GPIO_OUTPUT && cJSON_IsBool(v))
			p->value = cJSON_IsTrue(v);
	}
	cJSON_Delete(root);
}

int gl_persist_save(struct gl_driver *d)
{
	cJSON *root = cJSON_CreateObject();
	char *text = NULL, *tmp = NULL, num[32];
	int fd = -1, rc = -1;
	size_t len;

	d->persist_dirty = d->persist_now = false;
	if (!d->state_path)
		return 0;
	for (size_t i = 0; root && i < d->npoints; i++) {
		const struct gl_point *p = &d->points[i];
		cJSON *dev;

		/* Points of a disabled device keep what was loaded for them. */
		if (!persisted(p))
			continue;
		dev = cJSON_GetObjectItemCaseSensitive(root, p->dev->id);
		if (!dev)
			dev = cJSON_AddObjectToObject(root, p->dev->id);
		/* As a string: a double holds integers exactly only to 2^53. */
		snprintf(num, sizeof(num), "%" PRIu64, p->ctr.pulses);
		if (p->cfg.role == FB_GPIO_COUNTER)
			cJSON_AddStringToObject(dev, p->def->key, num);
		else
			cJSON_AddBoolToObject(dev, p->def->key, p->value);
	}
	text = root ? cJSON_Print(root) : NULL;
	if (!text || asprintf(&tmp, "%s.tmp", d->state_path) < 0) {
		tmp = NULL;
		errno = ENOMEM;
		goto out;
	}
	len = strlen(text);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) < 0)
		goto out;
	if (close(fd) < 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	rc = rename(tmp, d->state_path);
out:
	if (rc < 0)
		fb_log_errno(FB_LOG_WARNING, "bus %s: cannot write %s", d->bus->name,
			     d->state_path);
	if (fd >= 0)
		close(fd);
	if (rc < 0 && tmp)
		unlink(tmp);
	free(tmp);
	free(text);
	cJSON_Delete(root);
	return rc;
}
