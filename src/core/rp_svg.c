/*
 * rp_svg.c
 *	  The SVG writer behind every recpromo chart (see rp_svg.h for what a
 *	  chart carries and why).
 *
 * Layout, in user units of a width x height viewBox:
 *	  heading (y 30), subtitle (y 52), one line of 20 units per group of
 *	  facts, legend rows of 22 units, then the plot area, 84 units of left margin for the y tick labels and the rotated y
 *	  label, 64 at the bottom for the x tick labels and the x label.
 * Scales: a numeric axis spans nice ticks around the data (rp_svg_nice_ticks);
 * a categorical x axis gives each category an equal slot, bar series share
 * 80% of the slot side by side, other series sit at the slot's centre.
 * Marks are drawn bands first, then bars, lines, points, so that thin marks
 * stay on top.  Every mark is a <g class="mark"> with a <title> and data-*
 * attributes; numbers in data-* use %.17g (exact round trip), numbers in
 * titles and tick labels are for people (%.6g, tick-step precision).
 * A stack (rp_svg_render_stack) is one outer <svg> holding each panel as a
 * nested <svg x="0" y="..."> with its own viewBox, so a panel is drawn by
 * the same code, in the same user units, as a chart on its own.
 */
#include "rp_svg.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_WIDTH 1000
#define DEFAULT_HEIGHT 560
#define MARGIN_LEFT 84
#define MARGIN_RIGHT 32
#define MARGIN_BOTTOM 64
#define LEGEND_ROW 22
#define FACT_ROW 20
#define CHAR_W 7.6				/* mean advance of 13-14 px sans-serif text */

/* Okabe-Ito, yellow last: it is hard to see on white */
static const char *const palette[RP_SVG_NCOLORS] = {
	"#0072B2", "#E69F00", "#009E73", "#CC79A7",
	"#56B4E9", "#D55E00", "#000000", "#F0E442"
};

/* dash patterns of line series, by palette index */
static const char *const dashes[RP_SVG_NCOLORS] = {
	NULL, "8 4", "2 3", "10 3 2 3", NULL, "6 6", "1 4", "12 4"
};

const char *
rp_svg_color(int i)
{
	if (i < 0)
		i = -i;
	return palette[i % RP_SVG_NCOLORS];
}

/* ---------------------------------------------------------------- buffer */

/* Makes room for extra more bytes plus the NUL; 0 on failure. */
static int
reserve(rp_svg_buf *b, size_t extra)
{
	size_t		need,
				cap;
	void	   *p;

	if (b->failed)
		return 0;
	need = b->len + extra + 1;
	if (need < b->len)
		goto fail;
	if (need <= b->cap && b->data != NULL)
		return 1;
	cap = b->cap < 256 ? 256 : b->cap;
	while (cap < need)
	{
		if (cap > ((size_t) -1) / 2)
			goto fail;
		cap *= 2;
	}
	if (b->grow == NULL)
		goto fail;
	p = b->grow(b->data, cap, b->arg);
	if (p == NULL)
		goto fail;
	b->data = p;
	b->cap = cap;
	return 1;
fail:
	b->failed = 1;
	return 0;
}

static void
put_n(rp_svg_buf *b, const char *s, size_t n)
{
	if (!reserve(b, n))
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
rp_svg_put(rp_svg_buf *b, const char *s)
{
	if (s != NULL)
		put_n(b, s, strlen(s));
}

void
rp_svg_put_escaped(rp_svg_buf *b, const char *s)
{
	const char *run;

	if (s == NULL)
		return;
	run = s;
	for (; *s; s++)
	{
		unsigned char c = (unsigned char) *s;
		const char *rep;

		switch (c)
		{
			case '&':
				rep = "&amp;";
				break;
			case '<':
				rep = "&lt;";
				break;
			case '>':
				rep = "&gt;";
				break;
			case '"':
				rep = "&quot;";
				break;
			case '\'':
				rep = "&#39;";
				break;
			default:
				/* XML 1.0 allows no control character but tab, LF, CR */
				rep = (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f ? "?" : NULL;
				break;
		}
		if (rep != NULL)
		{
			put_n(b, run, (size_t) (s - run));
			rp_svg_put(b, rep);
			run = s + 1;
		}
	}
	put_n(b, run, (size_t) (s - run));
}

void
rp_svg_printf(rp_svg_buf *b, const char *fmt,...)
{
	va_list		ap;
	char		small[256];
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
	{
		b->failed = 1;
		return;
	}
	if ((size_t) n < sizeof(small))
	{
		put_n(b, small, (size_t) n);
		return;
	}
	if (!reserve(b, (size_t) n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t) n;
}

/* ----------------------------------------------------------------- ticks */

int
rp_svg_nice_ticks(double lo, double hi, int target,
				  double *first, double *last, double *step)
{
	double		span,
				raw,
				mag,
				f,
				s;
	int			n;

	if (target < 2)
		target = 2;
	if (!rp_finite(lo) || !rp_finite(hi))
	{
		lo = 0.0;
		hi = 1.0;
	}
	if (lo > hi)
	{
		double		t = lo;

		lo = hi;
		hi = t;
	}
	if (hi - lo <= fabs(hi) * 1e-12 || hi - lo == 0.0)
	{
		/* one value: a unit range around it, in its own magnitude */
		double		w = fabs(lo) > 0 ? fabs(lo) * 0.1 : 1.0;

		lo -= w;
		hi += w;
		if (lo < 0 && lo + w >= 0)
			lo = 0;
	}
	span = hi - lo;
	if (!rp_finite(span))
	{
		/* beyond double range: halve both ends */
		lo /= 2;
		hi /= 2;
		span = hi - lo;
	}
	raw = span / (target - 1);
	mag = pow(10.0, floor(log10(raw)));
	f = raw / mag;
	if (f <= 1.0)
		s = 1.0;
	else if (f <= 2.0)
		s = 2.0;
	else if (f <= 5.0)
		s = 5.0;
	else
		s = 10.0;
	s *= mag;
	if (!(s > 0) || !rp_finite(lo / s) || !rp_finite(hi / s))
	{
		/* a span near the smallest subnormals: the bounds themselves */
		*first = lo;
		*last = hi > lo ? hi : lo + 1.0;
		*step = *last - *first;
		return 2;
	}
	*first = floor(lo / s) * s;
	*last = ceil(hi / s) * s;
	if (*last <= *first)
		*last = *first + s;
	*step = s;
	n = (int) floor((*last - *first) / s + 0.5) + 1;
	return n < 2 ? 2 : n;
}

/* A tick label with the precision of the step. */
static void
format_tick(char *buf, size_t size, double v, double step)
{
	int			dec;

	if (fabs(v) < step * 1e-9)
		v = 0.0;
	if (fabs(v) >= 1e15 || step < 1e-9)
	{
		snprintf(buf, size, "%.6g", v);
		return;
	}
	dec = step >= 1.0 ? 0 : (int) ceil(-log10(step) - 1e-9);
	if (dec > 12)
		dec = 12;
	snprintf(buf, size, "%.*f", dec, v);
}

/* ---------------------------------------------------------------- layout */

typedef struct layout
{
	double		w,
				h;
	double		x0,
				x1,
				y0,				/* top of the plot area */
				y1;				/* bottom (the x axis) */
	double		xfirst,
				xlast,
				xstep;
	int			nxt;
	double		yfirst,
				ylast,
				ystep;
	int			nyt;
	int			ncat;
	int			nbars;			/* bar series */
} layout;

static double
px(const layout *L, double x)
{
	return L->x0 + (x - L->xfirst) / (L->xlast - L->xfirst) * (L->x1 - L->x0);
}

static double
py(const layout *L, double y)
{
	return L->y1 - (y - L->yfirst) / (L->ylast - L->yfirst) * (L->y1 - L->y0);
}

/* centre of category i */
static double
cx(const layout *L, int i)
{
	return L->x0 + (i + 0.5) * (L->x1 - L->x0) / L->ncat;
}

/* Number of code points of a UTF-8 string (continuation bytes skipped). */
static size_t
text_len(const char *s)
{
	size_t		n = 0;

	for (; s != NULL && *s; s++)
		if (((unsigned char) *s & 0xC0) != 0x80)
			n++;
	return n;
}

/* Writes s escaped, cut to at most max code points with "..." */
static void
put_clipped(rp_svg_buf *b, const char *s, size_t max)
{
	size_t		n = 0;
	const char *p;

	if (s == NULL)
		return;
	if (text_len(s) <= max || max < 4)
	{
		rp_svg_put_escaped(b, s);
		return;
	}
	for (p = s; *p; p++)
	{
		if (((unsigned char) *p & 0xC0) != 0x80)
		{
			if (n == max - 3)
				break;
			n++;
		}
	}
	{
		/* escape the prefix [s, p) */
		char		tmp[4096];
		size_t		len = (size_t) (p - s);

		if (len >= sizeof(tmp))
			len = sizeof(tmp) - 1;
		memcpy(tmp, s, len);
		tmp[len] = '\0';
		rp_svg_put_escaped(b, tmp);
	}
	rp_svg_put(b, "...");
}

static const char *
series_name(const rp_svg_series *s, int i, char *buf, size_t size)
{
	if (s->name != NULL)
		return s->name;
	snprintf(buf, size, "series %d", i + 1);
	return buf;
}

static int
series_color(const rp_svg_series *s, int i)
{
	return s->color >= 0 ? s->color : i;
}

/* "label (unit)" */
static void
put_axis_label(rp_svg_buf *b, const char *label, const char *unit)
{
	rp_svg_put_escaped(b, label);
	if (unit != NULL && *unit)
	{
		rp_svg_put(b, label != NULL && *label ? " (" : "(");
		rp_svg_put_escaped(b, unit);
		rp_svg_put(b, ")");
	}
}

static void
put_num_attr(rp_svg_buf *b, const char *name, double v)
{
	rp_svg_printf(b, " %s=\"%.17g\"", name, v);
}

static int
same_group(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/*
 * Opens one mark: <g class="mark" data-...><title>series, x: y</title>.
 * i: point index; the caller closes it with "</g>".
 */
static void
open_mark(rp_svg_buf *b, const rp_svg_chart *c, const rp_svg_series *s,
		  const char *name, int i)
{
	char		xbuf[64];

	rp_svg_put(b, "<g class=\"mark\" data-series=\"");
	rp_svg_put_escaped(b, name);
	rp_svg_printf(b, "\" data-i=\"%d\"", i);
	if (c->n_categories > 0)
	{
		rp_svg_put(b, " data-x=\"");
		rp_svg_put_escaped(b, c->categories[i]);
		rp_svg_put(b, "\"");
	}
	else
		put_num_attr(b, "data-x", s->x[i]);
	if (s->kind != RP_SVG_BAND)
		put_num_attr(b, "data-y", s->y[i]);
	if (s->lo != NULL && s->hi != NULL)
	{
		put_num_attr(b, "data-lo", s->lo[i]);
		put_num_attr(b, "data-hi", s->hi[i]);
	}
	rp_svg_put(b, "><title>");
	rp_svg_put_escaped(b, name);
	rp_svg_put(b, ", ");
	if (c->x_label != NULL)
	{
		rp_svg_put_escaped(b, c->x_label);
		rp_svg_put(b, " ");
	}
	if (c->n_categories > 0)
		rp_svg_put_escaped(b, c->categories[i]);
	else
	{
		snprintf(xbuf, sizeof(xbuf), "%.6g", s->x[i]);
		rp_svg_put(b, xbuf);
	}
	rp_svg_put(b, ": ");
	if (s->kind != RP_SVG_BAND)
	{
		rp_svg_printf(b, "%.6g", s->y[i]);
		if (c->y_unit != NULL && *c->y_unit)
		{
			rp_svg_put(b, " ");
			rp_svg_put_escaped(b, c->y_unit);
		}
	}
	if (s->lo != NULL && s->hi != NULL)
		rp_svg_printf(b, "%s[%.6g, %.6g]", s->kind != RP_SVG_BAND ? " " : "",
					  s->lo[i], s->hi[i]);
	rp_svg_put(b, "</title>");
}

/* x position of point i of a series */
static double
point_x(const layout *L, const rp_svg_chart *c, const rp_svg_series *s, int i)
{
	return c->n_categories > 0 ? cx(L, i) : px(L, s->x[i]);
}

static int
point_ok(const rp_svg_chart *c, const rp_svg_series *s, int i)
{
	return c->n_categories > 0 || rp_finite(s->x[i]);
}

static void
draw_band(rp_svg_buf *b, const layout *L, const rp_svg_chart *c,
		  const rp_svg_series *s, const char *name, const char *col)
{
	int			i = 0;

	/* one polygon per run of finite points */
	while (i < s->n)
	{
		int			j;

		while (i < s->n && !(point_ok(c, s, i) && rp_finite(s->lo[i]) && rp_finite(s->hi[i])))
			i++;
		j = i;
		while (j < s->n && point_ok(c, s, j) && rp_finite(s->lo[j]) && rp_finite(s->hi[j]))
			j++;
		if (j > i)
		{
			rp_svg_printf(b, "<path class=\"band\" fill=\"%s\" fill-opacity=\"0.22\" stroke=\"none\" d=\"", col);
			for (int k = i; k < j; k++)
				rp_svg_printf(b, "%s%.2f %.2f", k == i ? "M" : " L", point_x(L, c, s, k), py(L, s->lo[k]));
			for (int k = j - 1; k >= i; k--)
				rp_svg_printf(b, " L%.2f %.2f", point_x(L, c, s, k), py(L, s->hi[k]));
			rp_svg_put(b, " Z\"><title>");
			rp_svg_put_escaped(b, name);
			rp_svg_put(b, "</title></path>\n");
		}
		i = j;
	}
	for (i = 0; i < s->n; i++)
	{
		double		x;

		if (!(point_ok(c, s, i) && rp_finite(s->lo[i]) && rp_finite(s->hi[i])))
			continue;
		x = point_x(L, c, s, i);
		open_mark(b, c, s, name, i);
		rp_svg_printf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\" stroke-opacity=\"0.18\" stroke-width=\"4\"/></g>\n",
					  x, py(L, s->lo[i]), x, py(L, s->hi[i]), col);
	}
}

static void
draw_bars(rp_svg_buf *b, const layout *L, const rp_svg_chart *c,
		  const rp_svg_series *s, const char *name, const char *col, int slot)
{
	double		sw = (L->x1 - L->x0) / L->ncat;
	double		gw = sw * 0.8;
	double		bw = gw / L->nbars;
	double		base = py(L, L->yfirst <= 0 && L->ylast >= 0 ? 0.0 : L->yfirst);

	for (int i = 0; i < s->n; i++)
	{
		double		x,
					yv;

		if (!rp_finite(s->y[i]))
			continue;
		x = cx(L, i) - gw / 2 + slot * bw;
		yv = py(L, s->y[i]);
		open_mark(b, c, s, name, i);
		rp_svg_printf(b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"/>",
					  x + bw * 0.06, yv < base ? yv : base, bw * 0.88,
					  fabs(base - yv) < 0.5 ? 0.5 : fabs(base - yv), col);
		if (s->lo != NULL && s->hi != NULL && rp_finite(s->lo[i]) && rp_finite(s->hi[i]))
			rp_svg_printf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#000000\" stroke-width=\"1.5\"/>",
						  x + bw / 2, py(L, s->lo[i]), x + bw / 2, py(L, s->hi[i]));
		rp_svg_put(b, "</g>\n");
	}
}

static void
draw_line(rp_svg_buf *b, const layout *L, const rp_svg_chart *c,
		  const rp_svg_series *s, const char *name, const char *col, int ci)
{
	int			pen = 0,
				started = 0;
	const char *dash = s->dashed ? "6 5" : dashes[ci % RP_SVG_NCOLORS];

	if (s->kind != RP_SVG_POINTS)
	{
		rp_svg_printf(b, "<path class=\"line\" fill=\"none\" stroke=\"%s\" stroke-width=\"%s\"", col,
					  s->dashed ? "1.5" : "2.5");
		if (dash != NULL)
			rp_svg_printf(b, " stroke-dasharray=\"%s\"", dash);
		rp_svg_put(b, " d=\"");
		for (int i = 0; i < s->n; i++)
		{
			double		x,
						y;

			if (!point_ok(c, s, i) || !rp_finite(s->y[i]))
			{
				pen = 0;
				continue;
			}
			x = point_x(L, c, s, i);
			y = py(L, s->y[i]);
			if (!pen)
				rp_svg_printf(b, "%sM%.2f %.2f", started ? " " : "", x, y);
			else if (s->kind == RP_SVG_STEP)
				rp_svg_printf(b, " H%.2f V%.2f", x, y);
			else
				rp_svg_printf(b, " L%.2f %.2f", x, y);
			pen = started = 1;
		}
		rp_svg_put(b, "\"><title>");
		rp_svg_put_escaped(b, name);
		rp_svg_put(b, "</title></path>\n");
	}
	for (int i = 0; i < s->n; i++)
	{
		double		x;

		if (!point_ok(c, s, i) || !rp_finite(s->y[i]))
			continue;
		x = point_x(L, c, s, i);
		open_mark(b, c, s, name, i);
		if (s->lo != NULL && s->hi != NULL && rp_finite(s->lo[i]) && rp_finite(s->hi[i]))
		{
			double		ylo = py(L, s->lo[i]),
						yhi = py(L, s->hi[i]);

			rp_svg_printf(b, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"2\" d=\"M%.2f %.2f V%.2f M%.2f %.2f H%.2f M%.2f %.2f H%.2f\"/>",
						  col, x, ylo, yhi, x - 6, ylo, x + 6, x - 6, yhi, x + 6);
		}
		rp_svg_printf(b, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"%s\" fill=\"%s\" stroke=\"#ffffff\" stroke-width=\"1\"/></g>\n",
					  x, py(L, s->y[i]), s->kind == RP_SVG_POINTS ? "5.5" : (s->dashed ? "2.5" : "4"), col);
	}
}

static void
legend_swatch(rp_svg_buf *b, const rp_svg_series *s, const char *col, int ci,
			  double x, double y)
{
	const char *dash = s->dashed ? "6 5" : dashes[ci % RP_SVG_NCOLORS];

	switch (s->kind)
	{
		case RP_SVG_BARS:
			rp_svg_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"14\" fill=\"%s\"/>", x + 5, y - 11, col);
			break;
		case RP_SVG_BAND:
			rp_svg_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"24\" height=\"14\" fill=\"%s\" fill-opacity=\"0.22\"/>", x, y - 11, col);
			break;
		case RP_SVG_POINTS:
			rp_svg_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5.5\" fill=\"%s\"/>", x + 12, y - 4, col);
			break;
		default:
			rp_svg_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2.5\"", x, y - 4, x + 24, y - 4, col);
			if (dash != NULL)
				rp_svg_printf(b, " stroke-dasharray=\"%s\"", dash);
			rp_svg_put(b, "/>");
			break;
	}
}

/* Legend entries laid out in rows within [x0, x1]; returns the rows used. */
static int
legend(rp_svg_buf *b, const rp_svg_chart *c, double x0, double x1, double y,
	   int draw)
{
	double		x = x0;
	int			rows = 0;
	char		buf[32];

	for (int i = 0; i < c->n_series; i++)
	{
		const rp_svg_series *s = &c->series[i];
		const char *name = series_name(s, i, buf, sizeof(buf));
		size_t		len = text_len(name);
		double		w;
		int			ci = series_color(s, i);

		if (s->no_legend)
			continue;
		if (len > 60)
			len = 60;
		w = 30 + len * CHAR_W + 22;
		if (rows == 0)
			rows = 1;
		else if (x + w > x1 && x > x0)
		{
			rows++;
			x = x0;
		}
		if (draw)
		{
			double		ry = y + (rows - 1) * LEGEND_ROW;

			rp_svg_put(b, "<g class=\"legend-item\">");
			legend_swatch(b, s, rp_svg_color(ci), ci, x, ry);
			rp_svg_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\">", x + 30, ry);
			put_clipped(b, name, 60);
			rp_svg_put(b, "</text></g>\n");
		}
		x += w;
	}
	return rows;
}

/* Number of lines the facts take: one per run of facts of the same group. */
static int
fact_lines(const rp_svg_chart *c)
{
	int			lines = 0;

	for (int i = 0; i < c->n_facts; i++)
		if (i == 0 || !same_group(c->facts[i - 1].group, c->facts[i].group))
			lines++;
	return lines;
}

/*
 * The facts under the subtitle, from baseline y: one <text class="facts">
 * per group, each fact a <tspan class="fact"> with its exact value.
 */
static void
draw_facts(rp_svg_buf *b, const rp_svg_chart *c, double y)
{
	int			line = -1;

	for (int i = 0; i < c->n_facts; i++)
	{
		const rp_svg_fact *f = &c->facts[i];
		int			first = i == 0 || !same_group(c->facts[i - 1].group, f->group);

		if (first)
		{
			if (line >= 0)
				rp_svg_put(b, "</text>\n");
			line++;
			rp_svg_printf(b, "<text class=\"facts\" x=\"16\" y=\"%.1f\" font-size=\"13\" fill=\"#1a1a1a\">",
						  y + line * FACT_ROW);
			if (f->group != NULL)
			{
				rp_svg_put(b, "<tspan font-weight=\"bold\">");
				put_clipped(b, f->group, 40);
				rp_svg_put(b, ":</tspan> ");
			}
		}
		else
			rp_svg_put(b, ", ");
		rp_svg_put(b, "<tspan class=\"fact\" data-group=\"");
		rp_svg_put_escaped(b, f->group);
		rp_svg_put(b, "\" data-key=\"");
		rp_svg_put_escaped(b, f->key);
		rp_svg_put(b, "\"");
		put_num_attr(b, "data-value", f->value);
		rp_svg_put(b, "><title>");
		rp_svg_put_escaped(b, f->label);
		rp_svg_printf(b, ": %.17g</title>", f->value);
		rp_svg_put_escaped(b, f->label);
		if (rp_finite(f->value))
			rp_svg_printf(b, " %.4g", f->value);
		else
			rp_svg_put(b, " n/a");
		rp_svg_put(b, "</tspan>");
	}
	if (line >= 0)
		rp_svg_put(b, "</text>\n");
}

static int
validate(const rp_svg_chart *c)
{
	if (c == NULL || c->n_series < 0 || c->n_categories < 0 || c->n_facts < 0
		|| (c->n_series > 0 && c->series == NULL)
		|| (c->n_categories > 0 && c->categories == NULL)
		|| (c->n_facts > 0 && c->facts == NULL))
		return 0;
	for (int i = 0; i < c->n_series; i++)
	{
		const rp_svg_series *s = &c->series[i];

		if (s->n < 0 || (s->n > 0 && c->n_categories == 0 && s->x == NULL))
			return 0;
		if (s->kind != RP_SVG_BAND && s->n > 0 && s->y == NULL)
			return 0;
		if (s->kind == RP_SVG_BAND && s->n > 0 && (s->lo == NULL || s->hi == NULL))
			return 0;
		if ((s->lo == NULL) != (s->hi == NULL))
			return 0;
		if (c->n_categories > 0 && s->n != c->n_categories)
			return 0;
		/* bars need categories (an empty series draws nothing) */
		if (s->kind == RP_SVG_BARS && c->n_categories == 0 && s->n > 0)
			return 0;
	}
	return 1;
}

/* The outer <svg> element of an image w x h, with its data-chart kind. */
static void
open_document(rp_svg_buf *b, const char *kind, double w, double h)
{
	rp_svg_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"rp-chart\" data-chart=\"");
	rp_svg_put_escaped(b, kind);
	rp_svg_printf(b, "\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" role=\"img\" "
				  "font-family=\"'DejaVu Sans', 'Noto Sans CJK SC', Arial, Helvetica, sans-serif\" font-size=\"14\" "
				  "style=\"max-width: 100%%; height: auto; background: #ffffff\">\n",
				  w, h, w, h);
}

/*
 * Draws chart c into b: as a document of its own (y_off < 0), or as a
 * panel nested at y_off in a stack.
 */
static rp_status
render(rp_svg_buf *b, const rp_svg_chart *c, double y_off)
{
	layout		L;
	double		ymin = INFINITY,
				ymax = -INFINITY,
				xmin = INFINITY,
				xmax = -INFINITY;
	double		top;
	int			rows,
				any = 0,
				slot;
	char		buf[64];

	if (b == NULL || !validate(c))
		return RP_EINVAL;
	memset(&L, 0, sizeof(L));
	L.w = c->width > 0 ? c->width : DEFAULT_WIDTH;
	L.h = c->height > 0 ? c->height : DEFAULT_HEIGHT;
	L.ncat = c->n_categories;

	/* data ranges */
	for (int i = 0; i < c->n_series; i++)
	{
		const rp_svg_series *s = &c->series[i];

		if (s->kind == RP_SVG_BARS)
			L.nbars++;
		for (int j = 0; j < s->n; j++)
		{
			double		v[3];
			int			nv = 0;

			if (!point_ok(c, s, j))
				continue;
			if (s->kind != RP_SVG_BAND && rp_finite(s->y[j]))
				v[nv++] = s->y[j];
			if (s->lo != NULL && rp_finite(s->lo[j]) && rp_finite(s->hi[j]))
			{
				v[nv++] = s->lo[j];
				v[nv++] = s->hi[j];
			}
			for (int k = 0; k < nv; k++)
			{
				ymin = fmin(ymin, v[k]);
				ymax = fmax(ymax, v[k]);
			}
			if (nv > 0)
			{
				any = 1;
				if (c->n_categories == 0)
				{
					xmin = fmin(xmin, s->x[j]);
					xmax = fmax(xmax, s->x[j]);
				}
			}
		}
	}
	if (!any)
	{
		ymin = 0;
		ymax = 1;
		xmin = 0;
		xmax = 1;
	}
	if (c->y_from_zero || L.nbars > 0)
	{
		ymin = fmin(ymin, 0.0);
		ymax = fmax(ymax, 0.0);
	}
	L.nyt = rp_svg_nice_ticks(ymin, ymax, 6, &L.yfirst, &L.ylast, &L.ystep);
	if (c->n_categories == 0)
	{
		L.nxt = rp_svg_nice_ticks(xmin, xmax, 8, &L.xfirst, &L.xlast, &L.xstep);
		if (c->x_integer && any && ceil(xmax) - floor(xmin) <= 20)
		{
			/* a few integers (k = 1..K): the axis starts at the first one */
			double		span;

			L.xfirst = floor(xmin);
			L.xlast = ceil(xmax);
			if (L.xlast == L.xfirst)
			{
				L.xfirst -= 1;
				L.xlast += 1;
			}
			span = L.xlast - L.xfirst;
			L.xstep = span <= 12 ? 1.0 : 2.0;
			L.xlast = L.xfirst + ceil(span / L.xstep) * L.xstep;
			L.nxt = (int) ((L.xlast - L.xfirst) / L.xstep) + 1;
		}
		else if (c->x_integer && L.xstep < 1.0)
		{
			L.xstep = 1.0;
			L.xfirst = floor(L.xfirst);
			L.xlast = ceil(L.xlast);
			L.nxt = (int) (L.xlast - L.xfirst) + 1;
		}
	}

	/* vertical layout */
	L.x0 = MARGIN_LEFT;
	L.x1 = L.w - MARGIN_RIGHT;
	top = (c->subtitle != NULL ? 78 : 58) + fact_lines(c) * FACT_ROW;
	rows = legend(b, c, L.x0, L.x1, 0, 0);
	L.y0 = top + rows * LEGEND_ROW + 8;
	L.y1 = L.h - MARGIN_BOTTOM;
	if (L.y1 - L.y0 < 80)
		L.y1 = L.y0 + 80;

	/* document, or panel */
	if (y_off < 0)
		open_document(b, c->kind, L.w, L.h);
	else
	{
		rp_svg_put(b, "<svg class=\"rp-panel\" data-chart=\"");
		rp_svg_put_escaped(b, c->kind);
		rp_svg_printf(b, "\" x=\"0\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\">\n",
					  y_off, L.w, L.h, L.w, L.h);
	}
	rp_svg_put(b, "<title>");
	rp_svg_put_escaped(b, c->title);
	rp_svg_put(b, "</title>\n");
	if (c->subtitle != NULL)
	{
		rp_svg_put(b, "<desc>");
		rp_svg_put_escaped(b, c->subtitle);
		rp_svg_put(b, "</desc>\n");
	}
	rp_svg_printf(b, "<rect width=\"%.0f\" height=\"%.0f\" fill=\"#ffffff\"/>\n", L.w, L.h);
	rp_svg_printf(b, "<text class=\"chart-title\" x=\"%d\" y=\"30\" font-size=\"20\" font-weight=\"bold\" fill=\"#1a1a1a\">", 16);
	put_clipped(b, c->title, (size_t) ((L.w - 32) / 11));
	rp_svg_put(b, "</text>\n");
	if (c->subtitle != NULL)
	{
		rp_svg_put(b, "<text class=\"chart-subtitle\" x=\"16\" y=\"52\" font-size=\"14\" fill=\"#444444\">");
		put_clipped(b, c->subtitle, (size_t) ((L.w - 32) / CHAR_W));
		rp_svg_put(b, "</text>\n");
	}
	draw_facts(b, c, (c->subtitle != NULL ? 74 : 54));
	legend(b, c, L.x0, L.x1, top, 1);

	/* grid and y ticks */
	rp_svg_put(b, "<g class=\"axis y-axis\" font-size=\"13\" fill=\"#333333\">\n");
	for (int i = 0; i < L.nyt; i++)
	{
		double		v = L.yfirst + i * L.ystep;
		double		y = py(&L, v);

		format_tick(buf, sizeof(buf), v, L.ystep);
		rp_svg_printf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\" stroke-width=\"1\"/>",
					  L.x0, y, L.x1, y, fabs(v) < L.ystep * 1e-9 ? "#888888" : "#e3e3e3");
		rp_svg_printf(b, "<text class=\"tick\" x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\">%s</text>\n",
					  L.x0 - 8, y + 4.5, buf);
	}
	rp_svg_put(b, "</g>\n");
	rp_svg_printf(b, "<text class=\"axis-label y-label\" transform=\"translate(18 %.2f) rotate(-90)\" text-anchor=\"middle\" font-size=\"14\" fill=\"#1a1a1a\">",
				  (L.y0 + L.y1) / 2);
	put_axis_label(b, c->y_label, c->y_unit);
	rp_svg_put(b, "</text>\n");

	/* x axis */
	rp_svg_put(b, "<g class=\"axis x-axis\" font-size=\"13\" fill=\"#333333\">\n");
	rp_svg_printf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#333333\" stroke-width=\"1\"/>\n",
				  L.x0, L.y1, L.x1, L.y1);
	if (c->n_categories > 0)
	{
		size_t		maxc = (size_t) fmax(4, (L.x1 - L.x0) / L.ncat / CHAR_W);

		for (int i = 0; i < L.ncat; i++)
		{
			rp_svg_printf(b, "<text class=\"tick\" x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">", cx(&L, i), L.y1 + 20);
			put_clipped(b, c->categories[i], maxc);
			rp_svg_put(b, "</text>\n");
		}
	}
	else
	{
		for (int i = 0; i < L.nxt; i++)
		{
			double		v = L.xfirst + i * L.xstep;
			double		x = px(&L, v);

			format_tick(buf, sizeof(buf), v, L.xstep);
			rp_svg_printf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#333333\"/>"
						  "<text class=\"tick\" x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">%s</text>\n",
						  x, L.y1, x, L.y1 + 5, x, L.y1 + 20, buf);
		}
	}
	rp_svg_put(b, "</g>\n");
	rp_svg_printf(b, "<text class=\"axis-label x-label\" x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" font-size=\"14\" fill=\"#1a1a1a\">",
				  (L.x0 + L.x1) / 2, L.y1 + 46);
	put_axis_label(b, c->x_label, c->x_unit);
	rp_svg_put(b, "</text>\n");

	/* marks: bands, bars, lines and points */
	rp_svg_put(b, "<g class=\"marks\">\n");
	for (int pass = 0; pass < 3; pass++)
	{
		slot = 0;
		for (int i = 0; i < c->n_series; i++)
		{
			const rp_svg_series *s = &c->series[i];
			const char *name = series_name(s, i, buf, sizeof(buf));
			int			ci = series_color(s, i);
			const char *col = rp_svg_color(ci);

			if (pass == 0 && s->kind == RP_SVG_BAND)
				draw_band(b, &L, c, s, name, col);
			else if (s->kind == RP_SVG_BARS)
			{
				if (pass == 1)
					draw_bars(b, &L, c, s, name, col, slot);
				slot++;
			}
			else if (pass == 2 && s->kind != RP_SVG_BAND)
				draw_line(b, &L, c, s, name, col, ci);
		}
	}
	rp_svg_put(b, "</g>\n");
	if (!any)
		rp_svg_printf(b, "<text class=\"no-data\" x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" font-size=\"16\" fill=\"#444444\">no data</text>\n",
					  (L.x0 + L.x1) / 2, (L.y0 + L.y1) / 2);
	rp_svg_put(b, "</svg>\n");
	return b->failed ? RP_ENOMEM : RP_OK;
}

rp_status
rp_svg_render(rp_svg_buf *b, const rp_svg_chart *c)
{
	return render(b, c, -1.0);
}

rp_status
rp_svg_render_stack(rp_svg_buf *b, const char *kind, const char *title,
					int n, const rp_svg_chart *panels)
{
	double		w,
				h = 0,
				y = 0;

	if (b == NULL || n < 1 || panels == NULL)
		return RP_EINVAL;
	for (int i = 0; i < n; i++)
		if (!validate(&panels[i]))
			return RP_EINVAL;
	w = panels[0].width > 0 ? panels[0].width : DEFAULT_WIDTH;
	for (int i = 0; i < n; i++)
		h += panels[i].height > 0 ? panels[i].height : DEFAULT_HEIGHT;
	open_document(b, kind, w, h);
	rp_svg_put(b, "<title>");
	rp_svg_put_escaped(b, title);
	rp_svg_put(b, "</title>\n");
	for (int i = 0; i < n; i++)
	{
		rp_svg_chart p = panels[i];
		rp_status	st;

		p.width = (int) w;
		st = render(b, &p, y);
		if (st != RP_OK)
			return st;
		y += p.height > 0 ? p.height : DEFAULT_HEIGHT;
	}
	rp_svg_put(b, "</svg>\n");
	return b->failed ? RP_ENOMEM : RP_OK;
}
