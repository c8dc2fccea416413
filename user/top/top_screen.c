// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <ncurses.h>
#include <term.h>
#include "util/array.h"
#include "util/clock.h"
#include "util/fmt.h"
#include "util/log.h"
#include "top/top_table.h"
#include "top/top_screen.h"

#define HEADER_LINES 3 /* host, memobs, status/prompt */
#define NAME_MIN_WIDTH 16
#define FILTER_MAX 63
#define KEY_ESC 27
#define KEY_CTRL_L 12

enum color_pair {
	PAIR_LEAK = 1,
	PAIR_GROWING,
	PAIR_TITLE,
};

struct top_screen {
	struct top_screen_opts opts;
	bool utf8;
	bool color;
	bool paused;
	bool help;
	bool prompt; /* typing a filter */
	char filter_edit[FILTER_MAX + 1];
	char filter_saved[FILTER_MAX + 1];
	/* the selection follows its row across re-sorts: remembered by identity */
	int selected;
	__u64 selected_cgroup;
	__u32 selected_pid;
	int scroll;
	bool visible[TOP_COL_NR];
	size_t name_width;
};

/* ---- terminal restoration on every way out ---- */

static struct top_screen *active_view;
static struct termios saved_termios;
static bool have_saved_termios;
/* what a fatal-signal handler writes: copied from terminfo while it is safe to call */
static char reset_seq[128];
static size_t reset_len;

static void restore_at_exit(void)
{
	if (active_view && !isendwin())
		endwin();
}

static void append_cap(const char *cap)
{
	char *s = tigetstr((char *)cap);
	size_t len;

	if (!s || s == (char *)-1)
		return;
	len = strlen(s);
	if (reset_len + len < sizeof(reset_seq)) {
		memcpy(reset_seq + reset_len, s, len);
		reset_len += len;
	}
}

/* Async-signal-safe: write() and tcsetattr() only, then the signal's own action. */
static void on_fatal_signal(int sig)
{
	if (reset_len && write(STDOUT_FILENO, reset_seq, reset_len) < 0) {
		/* nothing more can be done from here */
	}
	if (have_saved_termios)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void install_fatal_handlers(void)
{
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL };
	struct sigaction sa = { .sa_handler = on_fatal_signal, .sa_flags = SA_RESETHAND };
	size_t i;

	sigemptyset(&sa.sa_mask);
	for (i = 0; i < ARRAY_SIZE(fatal); i++)
		sigaction(fatal[i], &sa, NULL);
}

int top_screen__open(struct top_screen **out, const struct top_screen_opts *opts)
{
	static bool atexit_done;
	struct top_screen *v;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		p_err("the live view needs a terminal (use --once for a plain table)");
		return -ENOTTY;
	}
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->opts = *opts;
	v->utf8 = top_locale_is_utf8();
	have_saved_termios = !tcgetattr(STDIN_FILENO, &saved_termios);
	if (!initscr()) {
		p_err("failed to initialize the terminal (is TERM set?)");
		free(v);
		return -ENOTTY;
	}
	active_view = v;
	if (!atexit_done) {
		atexit(restore_at_exit);
		atexit_done = true;
	}
	reset_len = 0;
	append_cap("sgr0");
	append_cap("cnorm");
	append_cap("rmcup");
	install_fatal_handlers();

	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	curs_set(0);
	set_escdelay(25);
	if (!opts->no_color && has_colors()) {
		start_color();
		use_default_colors();
		init_pair(PAIR_LEAK, COLOR_RED, -1);
		init_pair(PAIR_GROWING, COLOR_YELLOW, -1);
		init_pair(PAIR_TITLE, COLOR_CYAN, -1);
		v->color = true;
	}
	*out = v;
	return 0;
}

void top_screen__close(struct top_screen *v)
{
	if (!v)
		return;
	if (!isendwin())
		endwin();
	if (active_view == v)
		active_view = NULL;
	free(v);
}

bool top_screen__paused(const struct top_screen *v)
{
	return v->paused;
}

int top_screen__read_key(struct top_screen *v)
{
	int key;

	(void)v;
	key = getch();
	return key == ERR ? -1 : key;
}

/* ---- a frame: the columns that fit, the header, the rows ---- */

/* Columns by priority while they fit beside the narrowest name; the name takes the rest. */
static size_t choose_columns(bool visible[TOP_COL_NR], size_t screen_width, bool with_malloc)
{
	size_t used = 2 + NAME_MIN_WIDTH; /* marker and space */
	int prio, c;

	memset(visible, 0, sizeof(bool) * TOP_COL_NR);
	visible[TOP_COL_NAME] = true;
	for (prio = 1; prio <= 9; prio++) {
		for (c = 1; c < TOP_COL_NR; c++) {
			if (top_cols[c].priority != prio || (c == TOP_COL_MALLOC && !with_malloc))
				continue;
			if (used + top_cols[c].width + 1 > screen_width)
				continue;
			visible[c] = true;
			used += top_cols[c].width + 1;
		}
	}
	return screen_width > used ? NAME_MIN_WIDTH + screen_width - used : NAME_MIN_WIDTH;
}

/* Bytes of text that fit in cols columns: a line never wraps onto the next. */
static int fitting_bytes(const char *text, int cols)
{
	int bytes = 0, used = 0;

	for (; text[bytes]; bytes++) {
		if (((unsigned char)text[bytes] & 0xc0) == 0x80)
			continue;
		if (used++ == cols)
			break;
	}
	return bytes;
}

static void put_line(int y, const char *text, attr_t attr)
{
	if (y < 0 || y >= LINES)
		return;
	attron(attr);
	mvaddnstr(y, 0, text, fitting_bytes(text, COLS));
	/* a title bar spans the screen */
	if (attr & A_REVERSE)
		for (int x = getcurx(stdscr); x < COLS && getcury(stdscr) == y; x++)
			addch(' ');
	attroff(attr);
}

static void draw_header(struct top_screen *v, const struct top_model *m, const struct top_header *h)
{
	const struct snapshot *s = top_model__snapshot(m);
	char used[16], total[16], line[512], rate[16], clock[16];
	time_t now = (time_t)(clock_wall_ms() / 1000);
	struct tm tm;
	__u64 used_bytes = 0;

	localtime_r(&now, &tm);
	strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
	if (s && s->host_mem_total_bytes >= s->host_mem_available_bytes)
		used_bytes = s->host_mem_total_bytes - s->host_mem_available_bytes;
	snprintf(line, sizeof(line), "memobs top  %s  mem %s/%s used  cgroups %zu  procs %zu",
		 clock, fmt_size(used, sizeof(used), used_bytes),
		 fmt_size(total, sizeof(total), s ? s->host_mem_total_bytes : 0),
		 s ? s->nr_cgroups : 0, s ? s->nr_procs : 0);
	put_line(0, line, A_BOLD | (v->color ? COLOR_PAIR(PAIR_TITLE) : 0));
	if (h->events_per_s >= 0)
		fmt_count(rate, sizeof(rate), h->events_per_s);
	else
		snprintf(rate, sizeof(rate), "-");
	/* the source last: a long socket path is what gets cut on a narrow screen */
	snprintf(line, sizeof(line), "memobs events %s/s  drops %llu  every %.2gs  source %s", rate,
		 (unsigned long long)h->drops, s ? s->interval_s : 0, h->source ? h->source : "-");
	put_line(1, line, 0);
}

static void draw_status(struct top_screen *v, const struct top_model *m)
{
	char line[512], filter[FILTER_MAX + 1];

	if (v->prompt) {
		fmt_sanitize(filter, sizeof(filter), v->filter_edit, FILTER_MAX);
		snprintf(line, sizeof(line), "filter: %s_   (Enter: keep, Esc: cancel)", filter);
		put_line(2, line, A_BOLD);
		return;
	}
	fmt_sanitize(filter, sizeof(filter), top_model__filter(m), FILTER_MAX);
	snprintf(line, sizeof(line), "%ssort %s%s%s%s", v->paused ? "[PAUSED]  " : "",
		 top_cols[top_model__sort_col(m)].key,
		 top_model__sort_reverse(m) ? " (reversed)" : "", *filter ? "  filter: " : "",
		 filter);
	put_line(2, line, 0);
}

/* The visible slice of rows: -r counts cgroups; processes of expanded ones come along. */
static size_t limit_rows(const struct top_screen *v, const struct top_row *rows, size_t nr)
{
	size_t i;
	int cgroups = 0;

	if (v->opts.max_rows <= 0)
		return nr;
	for (i = 0; i < nr; i++) {
		if (!rows[i].proc && cgroups++ >= v->opts.max_rows)
			return i;
	}
	return nr;
}

/* After the rows changed: find the selected row again, keep it on screen. */
static void settle_selection(struct top_screen *v, const struct top_row *rows, size_t nr,
			     int height)
{
	size_t i;

	for (i = 0; i < nr; i++) {
		if (rows[i].cg->id == v->selected_cgroup &&
		    (rows[i].proc ? rows[i].proc->pid : 0) == v->selected_pid) {
			v->selected = (int)i;
			break;
		}
	}
	if (v->selected >= (int)nr)
		v->selected = (int)nr - 1;
	if (v->selected < 0)
		v->selected = 0;
	if (nr) {
		v->selected_cgroup = rows[v->selected].cg->id;
		v->selected_pid = rows[v->selected].proc ? rows[v->selected].proc->pid : 0;
	}
	if (v->selected < v->scroll)
		v->scroll = v->selected;
	if (height > 0 && v->selected >= v->scroll + height)
		v->scroll = v->selected - height + 1;
	if (v->scroll < 0)
		v->scroll = 0;
}

static void draw_help(void)
{
	static const char *const keys[] = {
		"q         quit",
		"?         this help (any key closes it)",
		"/         filter by name (Enter keeps, Esc cancels)",
		"Enter     show or hide the processes of a cgroup",
		"p         pause / resume",
		"< > R     sort by the column left / right, reverse",
		"arrows PgUp PgDn Home End: move",
		"! LEAK    a suspected leak (red where colour works)",
		"*_VM      virtual sizes (mapped); ANON is resident memory",
	};
	int nr_keys = (int)ARRAY_SIZE(keys);
	int width = COLS < 66 ? COLS : 66, height = nr_keys + (TOP_COL_NR + 1) / 2 + 3, y = 1, c;
	WINDOW *w;
	char line[128];

	if (height > LINES)
		height = LINES;
	w = newwin(height, width, (LINES - height) / 2, (COLS - width) / 2);
	if (!w)
		return;
	werase(w);
	box(w, 0, 0);
	mvwaddnstr(w, 0, 2, " memobs top: keys (sort keys: again reverses) ", width - 4);
	for (int i = 0; i < nr_keys && y < height - 1; i++)
		mvwaddnstr(w, y++, 2, keys[i], width - 4);
	/* the sort keys, two per line */
	for (c = 0; c < TOP_COL_NR && y < height - 1; c += 2, y++) {
		snprintf(line, sizeof(line), "%c %-7s",
			 top_cols[c].hotkey ? top_cols[c].hotkey : ' ', top_cols[c].title);
		if (c + 1 < TOP_COL_NR)
			snprintf(line + strlen(line), sizeof(line) - strlen(line),
				 "          %c %-7s",
				 top_cols[c + 1].hotkey ? top_cols[c + 1].hotkey : ' ',
				 top_cols[c + 1].title);
		mvwaddnstr(w, y, 2, line, width - 4);
	}
	wnoutrefresh(stdscr);
	wnoutrefresh(w);
	delwin(w);
}

void top_screen__draw(struct top_screen *v, struct top_model *m, const struct top_header *h)
{
	const struct top_row *rows;
	size_t nr = top_model__rows(m, &rows);
	int height = LINES - HEADER_LINES - 2, y;
	char line[4096];

	erase();
	nr = limit_rows(v, rows, nr);
	settle_selection(v, rows, nr, height);
	v->name_width = choose_columns(v->visible, (size_t)COLS, top_has_malloc(m));
	draw_header(v, m, h);
	draw_status(v, m);
	top_format_titles(m, v->visible, v->name_width, true, v->utf8, line, sizeof(line));
	put_line(HEADER_LINES, line, A_REVERSE);
	for (y = 0; y < height && (size_t)(v->scroll + y) < nr; y++) {
		const struct top_row *row = &rows[v->scroll + y];
		attr_t attr = 0;

		top_format_row(m, row, v->visible, v->name_width, v->utf8, line, sizeof(line));
		if (top_row_is_leak(row))
			attr = A_BOLD | (v->color ? COLOR_PAIR(PAIR_LEAK) : 0);
		else if (!row->proc && row->cg->growth_bytes_per_s > 0 && v->color)
			attr = COLOR_PAIR(PAIR_GROWING);
		if (v->scroll + y == v->selected)
			attr |= A_REVERSE;
		put_line(HEADER_LINES + 1 + y, line, attr);
	}
	if (!nr)
		put_line(HEADER_LINES + 1,
			 *top_model__filter(m) ? "  (no cgroup matches the filter)"
					       : "  (waiting for the first snapshot)",
			 0);
	put_line(LINES - 1, "q quit  ? help  / filter  Enter expand  < > sort  R reverse  p pause",
		 A_REVERSE);
	if (v->help) {
		draw_help();
		doupdate();
		return;
	}
	refresh();
}

/* ---- keys ---- */

static bool is_sort_key(int key, enum top_col *col)
{
	int c;

	for (c = 0; c < TOP_COL_NR; c++) {
		if (top_cols[c].hotkey && top_cols[c].hotkey == key) {
			*col = c;
			return true;
		}
	}
	return false;
}

static enum top_action prompt_key(struct top_screen *v, struct top_model *m, int key)
{
	size_t len = strlen(v->filter_edit);

	switch (key) {
	case '\n':
	case '\r':
	case KEY_ENTER:
		v->prompt = false;
		return TOP_ACT_REDRAW;
	case KEY_ESC:
		v->prompt = false;
		top_model__set_filter(m, v->filter_saved);
		return TOP_ACT_REDRAW;
	case KEY_BACKSPACE:
	case 127:
	case 8:
		if (len)
			v->filter_edit[len - 1] = '\0';
		break;
	default:
		if (key < 0x20 || key > 0x7e || len >= FILTER_MAX)
			return TOP_ACT_NONE;
		v->filter_edit[len] = (char)key;
		v->filter_edit[len + 1] = '\0';
		break;
	}
	/* the rows follow the typing */
	top_model__set_filter(m, v->filter_edit);
	return TOP_ACT_REDRAW;
}

/* The next sortable column left or right of the current one, among those shown. */
static enum top_col neighbour_column(const struct top_screen *v, enum top_col col, int step)
{
	int c = col;

	for (int i = 0; i < TOP_COL_NR; i++) {
		c = (c + step + TOP_COL_NR) % TOP_COL_NR;
		if (v->visible[c])
			return c;
	}
	return col;
}

static void move_selection(struct top_screen *v, struct top_model *m, int delta)
{
	const struct top_row *rows;
	size_t nr = top_model__rows(m, &rows);

	nr = limit_rows(v, rows, nr);
	if (!nr)
		return;
	v->selected += delta;
	if (v->selected < 0)
		v->selected = 0;
	if (v->selected >= (int)nr)
		v->selected = (int)nr - 1;
	v->selected_cgroup = rows[v->selected].cg->id;
	v->selected_pid = rows[v->selected].proc ? rows[v->selected].proc->pid : 0;
}

enum top_action top_screen__handle_key(struct top_screen *v, struct top_model *m, int key)
{
	int page = LINES - HEADER_LINES - 2;
	enum top_col col = top_model__sort_col(m);
	const struct top_row *rows;
	size_t nr;

	if (key == KEY_RESIZE)
		return TOP_ACT_REDRAW;
	if (v->prompt)
		return prompt_key(v, m, key);
	if (v->help) {
		v->help = false;
		return key == 'q' ? TOP_ACT_QUIT : TOP_ACT_REDRAW;
	}
	if (is_sort_key(key, &col)) {
		bool reverse = col == top_model__sort_col(m) && !top_model__sort_reverse(m);

		top_model__set_sort(m, col, reverse);
		return TOP_ACT_REDRAW;
	}
	switch (key) {
	case 'q':
	case 'Q':
		return TOP_ACT_QUIT;
	case '?':
	case 'h':
		v->help = true;
		return TOP_ACT_REDRAW;
	case 'p':
	case 'P':
		v->paused = !v->paused;
		return TOP_ACT_REDRAW;
	case '/':
		v->prompt = true;
		snprintf(v->filter_saved, sizeof(v->filter_saved), "%s", top_model__filter(m));
		snprintf(v->filter_edit, sizeof(v->filter_edit), "%s", top_model__filter(m));
		return TOP_ACT_REDRAW;
	case '<':
	case '>':
		top_model__set_sort(m, neighbour_column(v, col, key == '<' ? -1 : 1), false);
		return TOP_ACT_REDRAW;
	case 'R':
	case 'I':
		top_model__set_sort(m, col, !top_model__sort_reverse(m));
		return TOP_ACT_REDRAW;
	case '\n':
	case '\r':
	case KEY_ENTER:
		nr = top_model__rows(m, &rows);
		if (v->selected >= 0 && (size_t)v->selected < nr) {
			v->selected_cgroup = rows[v->selected].cg->id;
			v->selected_pid = 0; /* the cgroup row stays selected */
			top_model__toggle_expand(m, v->selected_cgroup);
		}
		return TOP_ACT_REDRAW;
	case KEY_UP:
	case 'k':
		move_selection(v, m, -1);
		return TOP_ACT_REDRAW;
	case KEY_DOWN:
	case 'j':
		move_selection(v, m, 1);
		return TOP_ACT_REDRAW;
	case KEY_PPAGE:
		move_selection(v, m, -page);
		return TOP_ACT_REDRAW;
	case KEY_NPAGE:
		move_selection(v, m, page);
		return TOP_ACT_REDRAW;
	case KEY_HOME:
		move_selection(v, m, -v->selected);
		return TOP_ACT_REDRAW;
	case KEY_END:
		move_selection(v, m, 1 << 20);
		return TOP_ACT_REDRAW;
	case KEY_CTRL_L:
		clearok(curscr, TRUE);
		return TOP_ACT_REDRAW;
	}
	return TOP_ACT_NONE;
}
