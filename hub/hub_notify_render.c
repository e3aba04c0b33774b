/*
 * hub_notify_render.c - an alert as each service wants it: a Telegram
 * message (HTML), a Discord embed (markdown) or the generic webhook's
 * JSON, rendered once per channel on the service thread.
 *
 * Text from agents goes into markup here, so every byte is escaped for
 * the format it lands in; Telegram's and Discord's texts are cut at a
 * character boundary inside the service's own limit.
 */
#include <stdlib.h>
#include <string.h>

#include "hub_notify.h"
#include "mc_util.h"

/* rendered text limits: Telegram takes 4096 characters, a Discord
 * description 4096 and a title 256 */
#define TG_TEXT_MAX	4000
#define DC_TITLE_MAX	250
#define DC_DESC_MAX	4000

/* Embed colours by severity: critical red, warning orange, recovery
 * green, info blue. */
static const long sev_colour[] = { 0xE53935, 0xFB8C00, 0x43A047, 0x1E88E5 };

/* Append s to b with each byte passed through esc (which appends what
 * the byte becomes), stopping at a character boundary before limit bytes
 * and then adding "...". */
typedef void (*esc_fn)(struct mc_buf *b, unsigned char c);

static void
esc_append(struct mc_buf *b, const char *s, esc_fn esc, size_t limit)
{
	size_t start = b->len;

	for (; *s != '\0'; s++) {
		if (b->len - start >= limit &&
		    ((unsigned char)*s & 0xc0) != 0x80) {
			mc_buf_puts(b, "...");
			return;
		}
		esc(b, (unsigned char)*s);
	}
}

static void
esc_html(struct mc_buf *b, unsigned char c)
{
	if (c == '&')
		mc_buf_puts(b, "&amp;");
	else if (c == '<')
		mc_buf_puts(b, "&lt;");
	else if (c == '>')
		mc_buf_puts(b, "&gt;");
	else
		mc_buf_append(b, &c, 1);
}

/* Discord markdown: every character that can start formatting, a link
 * or a heading is shown literally. */
static void
esc_md(struct mc_buf *b, unsigned char c)
{
	if (c != '\0' && strchr("\\*_~`|>#[]()", c) != NULL)
		mc_buf_append(b, "\\", 1);
	mc_buf_append(b, &c, 1);
}

static void
render_telegram(const struct hub_notify_chan *ch, const struct hub_msg *m,
    struct mc_jw *w)
{
	struct mc_buf t;

	mc_buf_init(&t, 2 * TG_TEXT_MAX);
	mc_buf_puts(&t, "<b>");
	esc_append(&t, m->title, esc_html, 400);
	mc_buf_puts(&t, "</b>\n");
	esc_append(&t, m->text, esc_html, TG_TEXT_MAX - t.len);
	mc_jw_obj(w, NULL);
	mc_jw_str(w, "chat_id", ch->chat_id);
	mc_jw_str(w, "text", t.data ? t.data : "");
	mc_jw_str(w, "parse_mode", "HTML");
	mc_jw_bool(w, "disable_web_page_preview", 1);
	hub_chat_buttons_write(w, m);
	mc_jw_obj_end(w);
	mc_buf_free(&t);
}

static void
render_discord(const struct hub_msg *m, struct mc_jw *w)
{
	struct mc_buf t, d;

	mc_buf_init(&t, 2 * DC_TITLE_MAX);
	mc_buf_init(&d, 2 * DC_DESC_MAX);
	esc_append(&t, m->title, esc_md, DC_TITLE_MAX - 4);
	esc_append(&d, m->text, esc_md, DC_DESC_MAX - 4);
	mc_jw_obj(w, NULL);
	mc_jw_arr(w, "embeds");
	mc_jw_obj(w, NULL);
	mc_jw_str(w, "title", t.data ? t.data : "");
	mc_jw_str(w, "description", d.data ? d.data : "");
	mc_jw_i64(w, "color", sev_colour[m->sev]);
	mc_jw_obj_end(w);
	mc_jw_arr_end(w);
	mc_jw_obj(w, "allowed_mentions");
	mc_jw_arr(w, "parse");
	mc_jw_arr_end(w);
	mc_jw_obj_end(w);
	hub_chat_dc_buttons_write(w, m);
	mc_jw_obj_end(w);
	mc_buf_free(&t);
	mc_buf_free(&d);
}

static void
render_webhook(const struct hub_msg *m, struct mc_jw *w)
{
	int i;

	mc_jw_obj(w, NULL);
	mc_jw_str(w, "event", m->event);
	mc_jw_str(w, "severity", hub_sev_name(m->sev));
	if (m->agent[0] != '\0')
		mc_jw_str(w, "agent", m->agent);
	else
		mc_jw_null(w, "agent");
	if (m->nagents > 0) {
		mc_jw_arr(w, "agents");
		for (i = 0; i < m->nagents; i++)
			mc_jw_str(w, NULL, m->agents[i]);
		mc_jw_arr_end(w);
	}
	mc_jw_str(w, "title", m->title);
	mc_jw_str(w, "text", m->text);
	mc_jw_dbl(w, "ts", m->ts);
	mc_jw_str(w, "id", m->id);
	mc_jw_obj_end(w);
}

struct hub_notify_job *
hub_notify_job_new(const struct hub_notify_chan *ch, const struct hub_msg *m)
{
	struct hub_notify_job *j = calloc(1, sizeof(*j));
	struct mc_buf b;
	struct mc_jw w;

	if (j == NULL)
		return NULL;
	mc_buf_init(&b, 64 * 1024);
	mc_jw_init(&w, &b);
	if (ch->kind == CH_TELEGRAM)
		render_telegram(ch, m, &w);
	else if (ch->kind == CH_DISCORD)
		render_discord(m, &w);
	else
		render_webhook(m, &w);
	if (mc_jw_done(&w) == -1 || b.data == NULL) {
		mc_buf_free(&b);
		free(j);
		return NULL;
	}
	mc_strlcpy(j->id, m->id, sizeof(j->id));
	mc_strlcpy(j->agent, m->agent, sizeof(j->agent));
	j->test = m->test;
	j->body = mc_buf_take(&b, &j->len);
	return j;
}

void
hub_notify_job_free(struct hub_notify_job *j)
{
	if (j == NULL)
		return;
	free(j->body);
	free(j);
}
