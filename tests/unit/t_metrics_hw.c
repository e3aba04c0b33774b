/*
 * t_metrics_hw.c - GPUs, temperatures and fans in a heartbeat: written and
 * read back, absent figures staying absent, ranges refused, summaries.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mc_proto.h"
#include "unit.h"

/* m's metrics as a heartbeat, parsed and decoded into d: 0 or -1 with the
 * decoder's reason in err. */
static int
hb_trip(const struct mc_metrics *m, struct mc_hb *d, char *err, size_t errlen)
{
	static struct mc_hb hb;
	const char *code = "";
	struct mc_buf b;
	struct mc_msg msg;
	int rc = -1;

	memset(&hb, 0, sizeof(hb));
	hb.seq = 7;
	hb.m = *m;
	mc_buf_init(&b, MC_MSG_MAX);
	if (mc_hb_encode(&b, &hb) == 0 &&
	    mc_msg_parse(&msg, MC_TO_HUB, b.data, b.len, &code, err,
	    errlen) == 0) {
		rc = mc_hb_decode(&msg, d, err, errlen);
		mc_msg_free(&msg);
	}
	mc_buf_free(&b);
	return rc;
}

static void
fill_gpu(struct mc_gpu *g, int index)
{
	g->index = index;
	snprintf(g->vendor, sizeof(g->vendor), "nvidia");
	snprintf(g->name, sizeof(g->name), "NVIDIA H200");
	snprintf(g->uuid, sizeof(g->uuid),
	    "GPU-79d32954-53f7-0135-2bd5-d2f66d04944%d", index);
	g->util = 10 * index;
	g->mem_util = 3;
	g->mem_used = 1048576.0 * 1000;
	g->mem_total = 1048576.0 * 143771;
	g->temp = 42 + index;
	g->power = 108.38;
	g->power_limit = 700;
	g->fan = NAN;		/* passively cooled: "[N/A]" */
	g->sm_clock = 1980;
}

void
t_metrics_hw_round_trip(void)
{
	static struct mc_metrics m;
	static struct mc_hb d;
	char err[256] = "";
	int i;

	memset(&m, 0, sizeof(m));
	m.ngpu = 2;
	fill_gpu(&m.gpu[0], 0);
	fill_gpu(&m.gpu[1], 1);
	m.ntemp = 2;
	snprintf(m.temp[0].name, sizeof(m.temp[0].name), "coretemp/Package id 0");
	m.temp[0].kind = MC_TEMP_CPU;
	m.temp[0].c = 61.5;
	snprintf(m.temp[1].name, sizeof(m.temp[1].name), "nvme/Composite");
	m.temp[1].kind = MC_TEMP_DISK;
	m.temp[1].c = 38;
	m.nfan = 1;
	snprintf(m.fan[0].name, sizeof(m.fan[0].name), "nct6798/fan2");
	m.fan[0].rpm = 1234;
	REQUIRE(hb_trip(&m, &d, err, sizeof(err)) == 0);
	CHECK_EQ_INT(d.m.ngpu, 2);
	for (i = 0; i < 2; i++) {
		CHECK_EQ_INT(d.m.gpu[i].index, i);
		CHECK_EQ_STR(d.m.gpu[i].vendor, "nvidia");
		CHECK_EQ_STR(d.m.gpu[i].name, "NVIDIA H200");
		CHECK_EQ_STR(d.m.gpu[i].uuid, m.gpu[i].uuid);
		CHECK_EQ_DBL(d.m.gpu[i].util, 10 * i);
		CHECK_EQ_DBL(d.m.gpu[i].mem_used, m.gpu[i].mem_used);
		CHECK_EQ_DBL(d.m.gpu[i].mem_total, m.gpu[i].mem_total);
		CHECK_EQ_DBL(d.m.gpu[i].temp, 42 + i);
		CHECK_EQ_DBL(d.m.gpu[i].power, 108.38);
		CHECK_EQ_DBL(d.m.gpu[i].power_limit, 700);
		CHECK(isnan(d.m.gpu[i].fan));
		CHECK_EQ_DBL(d.m.gpu[i].sm_clock, 1980);
	}
	CHECK_EQ_INT(d.m.ntemp, 2);
	CHECK_EQ_STR(d.m.temp[0].name, "coretemp/Package id 0");
	CHECK_EQ_INT(d.m.temp[0].kind, MC_TEMP_CPU);
	CHECK_EQ_DBL(d.m.temp[0].c, 61.5);
	CHECK_EQ_INT(d.m.temp[1].kind, MC_TEMP_DISK);
	CHECK_EQ_INT(d.m.nfan, 1);
	CHECK_EQ_STR(d.m.fan[0].name, "nct6798/fan2");
	CHECK_EQ_DBL(d.m.fan[0].rpm, 1234);
}

/* A machine without GPU or sensors sends none of the three keys, and a
 * heartbeat without them reads as none. */
void
t_metrics_hw_absent(void)
{
	static struct mc_metrics m;
	static struct mc_hb hb;
	struct mc_buf b;

	memset(&m, 0, sizeof(m));
	memset(&hb, 0, sizeof(hb));
	mc_buf_init(&b, MC_MSG_MAX);
	REQUIRE(mc_hb_encode(&b, &hb) == 0);
	CHECK(strstr(b.data, "gpus") == NULL);
	CHECK(strstr(b.data, "temps") == NULL);
	CHECK(strstr(b.data, "fans") == NULL);
	mc_buf_free(&b);
}

/* Each figure is optional on its own; null is read as absent. */
void
t_metrics_hw_sparse_gpu(void)
{
	static const char *json = "{\"t\":\"hb\",\"seq\":1,\"m\":{\"gpus\":["
	    "{\"name\":\"Radeon\",\"vendor\":\"amd\",\"util\":5},"
	    "{\"index\":3,\"fan\":null,\"vendor\":\"intel-arc-long-name\"}]}}";
	static struct mc_hb d;
	const char *code = "";
	char err[256] = "";
	struct mc_msg msg;

	REQUIRE(mc_msg_parse(&msg, MC_TO_HUB, json, strlen(json), &code, err,
	    sizeof(err)) == 0);
	CHECK_MSG(mc_hb_decode(&msg, &d, err, sizeof(err)) == 0, "%s", err);
	mc_msg_free(&msg);
	CHECK_EQ_INT(d.m.ngpu, 2);
	CHECK_EQ_INT(d.m.gpu[0].index, 0);	/* its place in the array */
	CHECK_EQ_DBL(d.m.gpu[0].util, 5);
	CHECK(isnan(d.m.gpu[0].temp));
	CHECK(isnan(d.m.gpu[0].mem_total));
	CHECK_EQ_INT(d.m.gpu[1].index, 3);
	CHECK(isnan(d.m.gpu[1].fan));
	CHECK_EQ_STR(d.m.gpu[1].vendor, "");	/* unknown, not refused */
	CHECK(isnan(mc_metrics_gpu_mem_pct(&d.m)));
	CHECK_EQ_DBL(mc_metrics_gpu_util(&d.m), 5);
}

static void
refused(const char *m, const char *why)
{
	static struct mc_hb d;
	char json[1024], err[256] = "";
	const char *code = "";
	struct mc_msg msg;

	snprintf(json, sizeof(json), "{\"t\":\"hb\",\"seq\":1,\"m\":%s}", m);
	REQUIRE(mc_msg_parse(&msg, MC_TO_HUB, json, strlen(json), &code, err,
	    sizeof(err)) == 0);
	CHECK_MSG(mc_hb_decode(&msg, &d, err, sizeof(err)) == -1,
	    "accepted %s", m);
	CHECK_CONTAINS(err, why);
	mc_msg_free(&msg);
}

void
t_metrics_hw_rejects(void)
{
	char many[1024];
	size_t n;
	int i;

	refused("{\"gpus\":{}}", "gpus");
	refused("{\"gpus\":[1]}", "objects");
	refused("{\"gpus\":[{\"util\":101}]}", "util");
	refused("{\"gpus\":[{\"temp\":\"hot\"}]}", "temp");
	refused("{\"gpus\":[{\"index\":256}]}", "index");
	refused("{\"gpus\":[{\"mem_used\":-1}]}", "mem_used");
	refused("{\"temps\":[{\"c\":40}]}", "name");
	refused("{\"temps\":[{\"name\":\"x\"}]}", "'c'");
	refused("{\"fans\":[{\"name\":\"f\",\"rpm\":-5}]}", "rpm");
	refused("{\"fans\":[{\"name\":\"f\"}]}", "'rpm'");
	n = (size_t)snprintf(many, sizeof(many), "{\"gpus\":[");
	for (i = 0; i <= MC_GPU_MAX; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "%s{}",
		    i ? "," : "");
	snprintf(many + n, sizeof(many) - n, "]}");
	refused(many, "at most 16");
}

void
t_metrics_hw_summaries(void)
{
	static struct mc_metrics m;
	const struct mc_gpu *g;

	memset(&m, 0, sizeof(m));
	CHECK(isnan(mc_metrics_gpu_util(&m)));
	CHECK(isnan(mc_metrics_gpu_temp(&m)));
	CHECK(isnan(mc_metrics_cpu_temp(&m)));
	CHECK(mc_metrics_busiest_gpu(&m) == NULL);
	m.ngpu = 3;
	fill_gpu(&m.gpu[0], 0);
	fill_gpu(&m.gpu[1], 1);
	fill_gpu(&m.gpu[2], 2);
	m.gpu[1].util = 80;
	m.gpu[2].util = 80;
	m.gpu[2].temp = 90;
	m.gpu[0].mem_used = m.gpu[0].mem_total / 2;
	m.gpu[1].mem_total = NAN;
	CHECK_EQ_DBL(mc_metrics_gpu_util(&m), 80);
	CHECK_EQ_DBL(mc_metrics_gpu_temp(&m), 90);
	CHECK_EQ_DBL(mc_metrics_gpu_mem_pct(&m), 50);
	g = mc_metrics_busiest_gpu(&m);
	REQUIRE(g != NULL);
	CHECK_EQ_INT(g->index, 2);	/* equal util: the hotter one */
	m.ntemp = 3;
	m.temp[0].kind = MC_TEMP_DISK;
	m.temp[0].c = 70;
	m.temp[1].kind = MC_TEMP_CPU;
	m.temp[1].c = 55;
	m.temp[2].kind = MC_TEMP_CPU;
	m.temp[2].c = 64.5;
	CHECK_EQ_DBL(mc_metrics_cpu_temp(&m), 64.5);	/* disks not counted */
	CHECK_EQ_STR(mc_temp_kind_name(MC_TEMP_DISK), "disk");
}
