/*
 * test_svg.c
 *	  Unit tests of rp_svg: XML escaping, nice ticks, the marks and their
 *	  data attributes, non-finite values, invalid descriptions and a failing
 *	  allocator.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "unit.h"
#include "rp_svg.h"

static void *
grow_realloc(void *p, size_t n, void *arg)
{
	(void) arg;
	return realloc(p, n);
}

/* fails after *arg successful growths */
static void *
grow_limited(void *p, size_t n, void *arg)
{
	int		   *left = arg;

	if (*left <= 0)
		return NULL;
	(*left)--;
	return realloc(p, n);
}

static rp_svg_buf
new_buf(void)
{
	rp_svg_buf	b = {0};

	b.grow = grow_realloc;
	return b;
}

static int
count(const char *hay, const char *needle)
{
	int			n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

static void
test_escape(void)
{
	rp_svg_buf	b = new_buf();

	rp_svg_put_escaped(&b, "a<b>&\"c'\x01\t\x7f" "d");
	CHECK(b.data != NULL && strcmp(b.data, "a&lt;b&gt;&amp;&quot;c&#39;?\t?d") == 0);
	rp_svg_put_escaped(&b, NULL);
	CHECK(strcmp(b.data, "a&lt;b&gt;&amp;&quot;c&#39;?\t?d") == 0);
	free(b.data);

	/* UTF-8 passes through unchanged */
	b = new_buf();
	rp_svg_put_escaped(&b, "召回率 & 精确率");
	CHECK(strcmp(b.data, "召回率 &amp; 精确率") == 0);
	free(b.data);

	/* long printf output grows the buffer */
	b = new_buf();
	rp_svg_printf(&b, "%0600d|%s", 7, "end");
	CHECK(b.len == 604 && strcmp(b.data + 600, "|end") == 0 && b.data[599] == '7');
	free(b.data);
}

static void
test_ticks(void)
{
	double		f,
				l,
				s;
	int			n;

	n = rp_svg_nice_ticks(0.0, 1.0, 6, &f, &l, &s);
	CHECK_NEAR(s, 0.2, 1e-12);
	CHECK(f == 0.0 && fabs(l - 1.0) < 1e-12 && n == 6);
	n = rp_svg_nice_ticks(1.0, 10.0, 8, &f, &l, &s);
	CHECK_NEAR(s, 2.0, 1e-12);
	CHECK(f == 0.0 && l == 10.0 && n == 6);
	n = rp_svg_nice_ticks(-0.013, 0.047, 6, &f, &l, &s);
	CHECK_NEAR(s, 0.02, 1e-12);
	CHECK(f <= -0.013 && l >= 0.047 && n == 5);
	/* a single value gets a range around it */
	n = rp_svg_nice_ticks(5.0, 5.0, 6, &f, &l, &s);
	CHECK(f < 5.0 && l > 5.0 && n >= 2);
	n = rp_svg_nice_ticks(0.0, 0.0, 6, &f, &l, &s);
	CHECK(f <= 0.0 && l > 0.0 && n >= 2);
	/* non-finite input */
	n = rp_svg_nice_ticks(NAN, INFINITY, 6, &f, &l, &s);
	CHECK(f == 0.0 && l == 1.0 && n >= 2);
	/* huge range */
	n = rp_svg_nice_ticks(-1e308, 1e308, 6, &f, &l, &s);
	CHECK(n >= 2 && n <= 12 && isfinite(s));
	/* subnormal and tiny ranges: finite ticks, no NaN converted to int */
	n = rp_svg_nice_ticks(0.0, 1e-320, 6, &f, &l, &s);
	CHECK(n >= 2 && n <= 12 && isfinite(f) && isfinite(l) && s > 0 && f <= 0.0 && l >= 1e-320);
	n = rp_svg_nice_ticks(0.0, 5e-324, 6, &f, &l, &s);
	CHECK(n >= 2 && n <= 12 && isfinite(f) && isfinite(l) && s > 0 && f <= 0.0 && l >= 5e-324);
	n = rp_svg_nice_ticks(1e-310, 2e-310, 6, &f, &l, &s);
	CHECK(n >= 2 && n <= 12 && isfinite(s) && s > 0);
	n = rp_svg_nice_ticks(-DBL_MAX, DBL_MAX, 6, &f, &l, &s);
	CHECK(n >= 2 && n <= 12 && isfinite(f) && isfinite(l));
	n = rp_svg_nice_ticks(1e15, 1e15 + 2, 6, &f, &l, &s);
	CHECK(n >= 2 && n <= 12 && f <= 1e15 && l >= 1e15 + 2);
	/* reversed bounds */
	n = rp_svg_nice_ticks(10.0, 0.0, 6, &f, &l, &s);
	CHECK(f == 0.0 && l == 10.0);
}

static void
test_line_chart(void)
{
	double		x[4] = {1, 2, 3, 4};
	double		y1[4] = {0.1, 0.25, NAN, 0.1234567890123};
	double		y2[4] = {0.2, 0.3, 0.35, 0.4};
	double		lo[4] = {0.15, 0.2, 0.3, 0.3};
	double		hi[4] = {0.25, 0.4, 0.4, 0.5};
	rp_svg_series s[3] = {
		{.kind = RP_SVG_BAND, .name = "band", .n = 4, .x = x, .lo = lo, .hi = hi, .color = 1, .no_legend = 0},
		{.kind = RP_SVG_LINE, .name = "a<b", .n = 4, .x = x, .y = y1, .color = -1},
		{.kind = RP_SVG_STEP, .name = NULL, .n = 4, .x = x, .y = y2, .color = -1, .dashed = 1},
	};
	rp_svg_chart c = {.kind = "test", .title = "T & t", .subtitle = "sub",
		.x_label = "k", .x_unit = "items", .y_label = "NDCG", .y_unit = "fraction",
	.n_series = 3, .series = s, .x_integer = 1};
	rp_svg_buf	b = new_buf();

	CHECK(rp_svg_render(&b, &c) == RP_OK);
	CHECK(strncmp(b.data, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39) == 0);
	CHECK(strstr(b.data, "</svg>\n") != NULL);
	CHECK(strstr(b.data, "<title>T &amp; t</title>") != NULL);
	CHECK(strstr(b.data, "data-chart=\"test\"") != NULL);
	/* marks: 4 band slices, 3 finite points of a<b, 4 of series 3 */
	CHECK(count(b.data, "<g class=\"mark\"") == 11);
	CHECK(count(b.data, "data-series=\"a&lt;b\"") == 3);
	CHECK(count(b.data, "data-series=\"series 3\"") == 4);
	/* exact numbers in data attributes */
	{
		/* %.17g round-trips: the attribute parses back to the same double */
		const char *p = strstr(b.data, "data-i=\"3\" data-x=\"4\" data-y=\"");

		CHECK(p != NULL && strtod(p + strlen("data-i=\"3\" data-x=\"4\" data-y=\""), NULL) == y1[3]);
	}
	CHECK(strstr(b.data, "data-lo=\"0.14999999999999999\"") != NULL);
	/* a NaN point is not drawn and breaks the line into two subpaths */
	CHECK(strstr(b.data, "data-y=\"nan\"") == NULL);
	/* every mark has a title; a title per path and the document title */
	CHECK(count(b.data, "<title>") == 11 + 1 + 2 + 1);
	CHECK(strstr(b.data, "NDCG (fraction)") != NULL);
	CHECK(strstr(b.data, "k (items)") != NULL);
	/* integer x ticks, from the first x (1) to the last (4) */
	CHECK(strstr(b.data, ">2.5<") == NULL);
	CHECK(strstr(b.data, "text-anchor=\"middle\">1</text>") != NULL);
	CHECK(strstr(b.data, "text-anchor=\"middle\">0</text>") == NULL);
	CHECK(strstr(b.data, "text-anchor=\"middle\">4</text>") != NULL);
	CHECK(strstr(b.data, "H") != NULL);
	CHECK(strstr(b.data, "stroke-dasharray=\"6 5\"") != NULL);
	free(b.data);
}

static void
test_bars(void)
{
	const char *cats[3] = {"one", "two & three", "a very long category label that will not fit in its slot at all, no"};
	double		y1[3] = {3, -1, 2};
	double		y2[3] = {1, NAN, 4};
	double		m[3] = {0.5, 0.4, 0.3};
	double		lo[3] = {0.4, 0.3, 0.2};
	double		hi[3] = {0.6, 0.5, 0.4};
	rp_svg_series s[3] = {
		{.kind = RP_SVG_BARS, .name = "x", .n = 3, .y = y1, .color = -1},
		{.kind = RP_SVG_BARS, .name = "y", .n = 3, .y = y2, .color = -1},
		{.kind = RP_SVG_POINTS, .name = "p", .n = 3, .y = m, .lo = lo, .hi = hi, .color = 5},
	};
	rp_svg_chart c = {.kind = "bars", .title = "bars", .x_label = "group",
	.y_label = "value", .n_categories = 3, .categories = cats, .n_series = 3, .series = s};
	rp_svg_buf	b = new_buf();

	CHECK(rp_svg_render(&b, &c) == RP_OK);
	CHECK(count(b.data, "<rect x=") == 5 + 2);	/* 5 bars, 2 legend swatches */
	CHECK(count(b.data, "<g class=\"mark\"") == 8);
	CHECK(strstr(b.data, "data-x=\"two &amp; three\"") != NULL);
	CHECK(strstr(b.data, "data-lo=\"0.40000000000000002\"") != NULL);
	CHECK(strstr(b.data, "...</text>") != NULL);	/* clipped category */
	/* the zero line is drawn darker, so negative bars read against it */
	CHECK(strstr(b.data, "stroke=\"#888888\"") != NULL);
	CHECK(strstr(b.data, rp_svg_color(5)) != NULL);
	free(b.data);
}

static void
test_empty_and_invalid(void)
{
	rp_svg_chart c = {.kind = "e", .title = NULL};
	rp_svg_buf	b = new_buf();
	double		y[2] = {1, 2};
	rp_svg_series s = {.kind = RP_SVG_BARS, .n = 2, .y = y};
	const char *cats[3] = {"a", "b", "c"};

	CHECK(rp_svg_render(&b, &c) == RP_OK);
	CHECK(strstr(b.data, ">no data<") != NULL);
	free(b.data);

	/* an empty bar series (no category at all) is "no data", not an error */
	b = new_buf();
	s.n = 0;
	c.n_series = 1;
	c.series = &s;
	CHECK(rp_svg_render(&b, &c) == RP_OK);
	CHECK(strstr(b.data, ">no data<") != NULL && strstr(b.data, "class=\"mark\"") == NULL);
	free(b.data);
	s.n = 2;
	c.n_series = 0;
	c.series = NULL;

	/* bars on a numeric axis, a categorical count mismatch, no buffer */
	b = new_buf();
	c.n_series = 1;
	c.series = &s;
	CHECK(rp_svg_render(&b, &c) == RP_EINVAL);
	c.n_categories = 3;
	c.categories = cats;
	CHECK(rp_svg_render(&b, &c) == RP_EINVAL);
	CHECK(rp_svg_render(NULL, &c) == RP_EINVAL);
	c.n_series = -1;
	CHECK(rp_svg_render(&b, &c) == RP_EINVAL);
	CHECK(b.data == NULL);
}

static void
test_out_of_memory(void)
{
	double		x[2] = {0, 1},
				y[2] = {0, 1};
	rp_svg_series s = {.kind = RP_SVG_LINE, .n = 2, .x = x, .y = y};
	rp_svg_chart c = {.kind = "m", .title = "m", .n_series = 1, .series = &s};

	for (int lim = 0; lim < 3; lim++)
	{
		int			left = lim;
		rp_svg_buf	b = {0};

		b.grow = grow_limited;
		b.arg = &left;
		CHECK(rp_svg_render(&b, &c) == RP_ENOMEM);
		CHECK(b.failed);
		free(b.data);
	}
	{
		rp_svg_buf	b = {0};	/* no grow function at all */

		CHECK(rp_svg_render(&b, &c) == RP_ENOMEM);
	}
}

/* facts under the subtitle: one line per group, exact values, escaped */
static void
test_facts(void)
{
	double		y[2] = {0.25, 0.75};
	const char *cats[2] = {"a", "b"};
	rp_svg_series s = {.kind = RP_SVG_BARS, .name = "share", .n = 2, .y = y};
	rp_svg_fact f[3] = {
		{.group = "m<1>", .key = "gini", .label = "Gini", .value = 0.1},
		{.group = "m<1>", .key = "arp", .label = "ARP", .value = NAN},
		{.group = "m2", .key = "gini", .label = "Gini", .value = 1.0 / 3}};
	rp_svg_chart c = {.kind = "k", .title = "t", .subtitle = "s", .n_categories = 2,
	.categories = cats, .n_series = 1, .series = &s, .n_facts = 3, .facts = f};
	rp_svg_buf	b = new_buf();

	CHECK(rp_svg_render(&b, &c) == RP_OK);
	CHECK(count(b.data, "<text class=\"facts\"") == 2);
	CHECK(count(b.data, "<tspan class=\"fact\"") == 3);
	CHECK(strstr(b.data, "data-group=\"m&lt;1&gt;\" data-key=\"gini\" data-value=\"0.10000000000000001\"") != NULL);
	CHECK(strstr(b.data, "data-value=\"0.33333333333333331\"") != NULL);
	CHECK(strstr(b.data, ">ARP n/a<") != NULL || strstr(b.data, "ARP n/a</tspan>") != NULL);
	CHECK(strstr(b.data, "nan\"") == NULL || strstr(b.data, "data-value=\"nan\"") != NULL);
	free(b.data);
	c.facts = NULL;
	b = new_buf();
	CHECK(rp_svg_render(&b, &c) == RP_EINVAL);
	free(b.data);
}

/* panels: one outer svg, a nested svg per panel, each with its marks */
static void
test_stack(void)
{
	double		x[3] = {1, 2, 3},
				y1[3] = {0.1, 0.2, 0.3},
				y2[3] = {5, 6, 7};
	rp_svg_series s1 = {.kind = RP_SVG_LINE, .name = "one", .n = 3, .x = x, .y = y1};
	rp_svg_series s2 = {.kind = RP_SVG_LINE, .name = "two", .n = 3, .x = x, .y = y2};
	rp_svg_chart p[2] = {
		{.kind = "top", .title = "Top", .n_series = 1, .series = &s1, .height = 300},
		{.kind = "bottom", .title = "Bottom & co", .n_series = 1, .series = &s2}};
	rp_svg_buf	b = new_buf();

	CHECK(rp_svg_render_stack(&b, "both", "Both <panels>", 2, p) == RP_OK);
	CHECK(strncmp(b.data, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"rp-chart\" data-chart=\"both\" viewBox=\"0 0 1000 860\"", 95) == 0);
	CHECK(count(b.data, "<svg") == 3);
	CHECK(count(b.data, "</svg>") == 3);
	CHECK(strstr(b.data, "<title>Both &lt;panels&gt;</title>") != NULL);
	CHECK(strstr(b.data, "<svg class=\"rp-panel\" data-chart=\"top\" x=\"0\" y=\"0\" width=\"1000\" height=\"300\"") != NULL);
	CHECK(strstr(b.data, "<svg class=\"rp-panel\" data-chart=\"bottom\" x=\"0\" y=\"300\" width=\"1000\" height=\"560\"") != NULL);
	CHECK(count(b.data, "data-series=\"one\"") == 3 && count(b.data, "data-series=\"two\"") == 3);
	free(b.data);
	b = new_buf();
	CHECK(rp_svg_render_stack(&b, "both", "x", 0, p) == RP_EINVAL);
	p[1].n_series = -1;
	CHECK(rp_svg_render_stack(&b, "both", "x", 2, p) == RP_EINVAL);
	free(b.data);
}

int
main(void)
{
	RUN(test_escape);
	RUN(test_ticks);
	RUN(test_line_chart);
	RUN(test_bars);
	RUN(test_empty_and_invalid);
	RUN(test_out_of_memory);
	RUN(test_facts);
	RUN(test_stack);
	UNIT_DONE();
}
