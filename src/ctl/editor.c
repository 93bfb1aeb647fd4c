/* SPDX-License-Identifier: Apache-2.0 */
/* `connection edit NAME`: $EDITOR on a copy of the drop-in, reopened while
 * the result does not validate (as visudo does); the drop-in is replaced
 * only by a version the loader accepts. */
#include "ctl.h"
#include "jsonfile.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int run_editor(const char *path)
{
	const char *ed = getenv("VISUAL");
	pid_t pid;
	int st;

	if (!ed || !*ed)
		ed = getenv("EDITOR");
	if (!ed || !*ed)
		ed = "vi";
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		/* Through the shell: EDITOR may carry options ("code -w"). */
		execl("/bin/sh", "sh", "-c", "exec $0 \"$1\"", ed, path, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool ask_again(void)
{
	FILE *tty = fopen("/dev/tty", "r+");
	char line[16];
	bool again = false;

	if (!tty)
		return false;
	fprintf(tty, "The change was not written. Edit again? [Y/n] ");
	fflush(tty);
	if (fgets(line, sizeof(line), tty))
		again = line[0] != 'n' && line[0] != 'N';
	fclose(tty);
	return again;
}

int ctl_edit(const struct ctl *c, enum fb_edit_kind kind, const char *name)
{
	struct fb_diag d;
	struct fb_edit *e;
	const struct fb_edit_obj *o;
	char tmp[] = "/tmp/fieldbridgectl-edit.XXXXXX";
	char *orig = NULL, *text = NULL;
	cJSON *extra = NULL;
	size_t len;
	int fd, rc = CTL_FAILED;

	fb_diag_init(&d);
	e = fb_edit_open(c->config_path, &d);
	o = e ? fb_edit_find(e, kind, NULL, name) : NULL;
	if (!o) {
		fb_diag_error(&d, "%s %s: not found", fb_edit_kind_name(kind), name);
		rc = CTL_NOT_FOUND;
		goto out;
	}
	if (o->in_main) {
		/* fb_edit_replace_text refuses it with the move-to-dropin hint. */
		rc = (int)fb_edit_replace_text(e, kind, name, "", &d);
		goto out;
	}
	orig = fb_read_file(o->file, &len);
	fd = orig ? mkstemp(tmp) : -1; /* 0600: the drop-in may hold a secret */
	if (fd < 0 || write(fd, orig, len) != (ssize_t)len) {
		fb_diag_error(&d, "%s: cannot make a copy to edit", o->file);
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		goto out;
	}
	close(fd);
	for (;;) {
		fb_diag_free(&d);
		fb_diag_init(&d);
		if (run_editor(tmp) != 0) {
			fb_diag_error(&d, "the editor failed; %s left unchanged", o->file);
			rc = CTL_FAILED;
			break;
		}
		free(text);
		text = fb_read_file(tmp, &len);
		if (!text) {
			rc = CTL_FAILED;
			break;
		}
		if (!strcmp(text, orig)) {
			if (!c->json)
				printf("%s %s: no change\n", fb_edit_kind_name(kind), name);
			rc = CTL_OK;
			break;
		}
		rc = (int)fb_edit_replace_text(e, kind, name, text, &d);
		if (rc != CTL_INVALID || !isatty(STDIN_FILENO))
			break;
		fb_diag_print(&d, stderr);
		if (!ask_again())
			break;
	}
	unlink(tmp);
	if (rc == CTL_OK && strcmp(text ? text : "", orig)) {
		if (!c->json)
			printf("%s %s: change written\n", fb_edit_kind_name(kind), name);
		extra = c->json ? cJSON_CreateObject() : NULL;
		rc = ctl_apply_after_edit(c, e, extra, &d);
	}
out:
	ctl_finish(c, &d, rc, extra);
	fb_diag_free(&d);
	free(orig);
	free(text);
	fb_edit_close(e);
	return rc;
}
