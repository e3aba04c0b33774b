/*
 * hub_ws.h - between the two files that see struct lws: hub_ws.c (the
 * context and the callback) and hub_ws_http.c (HTTP requests).
 */
#ifndef HUB_WS_H
#define HUB_WS_H

#include <libwebsockets.h>

struct hub_conn;

/* "ADDRESS:PORT" of wsi's peer into out. */
void	hub_ws_peer_name(struct lws *wsi, char *out, size_t outlen);
/* LWS_CALLBACK_HTTP: a request's headers (path: its URI). */
int	hub_ws_http_begin(struct lws *wsi, struct hub_conn *c, const char *path);
/* LWS_CALLBACK_HTTP_BODY: a piece of its body. */
int	hub_ws_http_body(struct hub_conn *c, const void *in, size_t len);
/* The request is whole (LWS_CALLBACK_HTTP_BODY_COMPLETION, or no body):
 * to hub_api.c, and the reply's headers once it answered. */
int	hub_ws_http_dispatch(struct lws *wsi, struct hub_conn *c);
/* LWS_CALLBACK_HTTP_WRITEABLE: the next piece of the reply. */
int	hub_ws_http_writeable(struct lws *wsi, struct hub_conn *c);

#endif
