/*
 * rp_svg.h
 *	  A small SVG writer for recpromo's charts: one chart (axes, ticks,
 *	  series, legend) rendered into a growable text buffer.
 *
 * The chart functions of the extension (src/pg/charts.c) only gather the
 * numbers of a public SQL function and describe a chart with the structs
 * below; everything about drawing lives here, so it is unit tested without
 * a server and the chart functions stay thin.
 *
 * What every chart gets:
 *	- a document <title> and a visible heading, axis labels with their unit,
 *	  "nice" ticks (1, 2, 5 x 10^n) and light grid lines;
 *	- the Okabe-Ito palette (Okabe and Ito 2008, "Color Universal Design"),
 *	  distinguishable with the common colour-vision deficiencies; line
 *	  series also differ by dash pattern, so they survive greyscale printing;
 *	- one <title> per mark (point, bar, band slice, error bar), so hovering
 *	  shows the value, and machine-readable data-series / data-x / data-y
 *	  (data-lo / data-hi) attributes holding the plotted numbers printed
 *	  with %.17g, which round-trip a double exactly: a test parses the SVG
 *	  and compares them with the SQL function's output;
 *	- every text XML-escaped (& < > " '), bytes that XML 1.0 forbids
 *	  (control characters other than tab, newline and carriage return)
 *	  replaced by '?';
 *	- sizes meant for a 1,000 px wide page: default 1000 x 560 user units,
 *	  14 px text, scaling with the viewBox;
 *	- optionally, summary numbers stated in words under the subtitle
 *	  (rp_svg_fact), and several charts stacked as panels of one image
 *	  (rp_svg_render_stack).
 * Non-finite values (NaN for SQL NULL, infinities) are not drawn: a line
 * is broken at them and no bar or point is emitted.
 *
 * Memory: the writer appends to an rp_svg_buf whose growth function is the
 * caller's (repalloc in the glue, realloc in the tests).  A failed growth
 * marks the buffer failed and rendering returns RP_ENOMEM.
 */
#ifndef RP_SVG_H
#define RP_SVG_H

#include "rp_core.h"

typedef void *(*rp_svg_grow_fn) (void *ptr, size_t size, void *arg);

typedef struct rp_svg_buf
{
	char	   *data;			/* NUL-terminated text, or NULL when empty */
	size_t		len;			/* bytes used, without the NUL */
	size_t		cap;			/* bytes allocated */
	rp_svg_grow_fn grow;		/* (re)allocates data to size bytes; NULL: fail */
	void	   *arg;
	int			failed;			/* a growth failed: contents incomplete */
} rp_svg_buf;

/* Appends text as is / XML-escaped / printf-formatted. */
extern void rp_svg_put(rp_svg_buf *b, const char *s);
extern void rp_svg_put_escaped(rp_svg_buf *b, const char *s);
extern void rp_svg_printf(rp_svg_buf *b, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));

/* Palette: Okabe-Ito colours, "#rrggbb", index taken modulo RP_SVG_NCOLORS. */
#define RP_SVG_NCOLORS 8
extern const char *rp_svg_color(int i);

/*
 * Nice ticks covering [lo, hi]: step is 1, 2 or 5 x 10^n so that about
 * target ticks fit; *first and *last are multiples of step with first <= lo
 * and last >= hi.  Returns the number of ticks (at least 2).  lo == hi is
 * widened around the value; non-finite input gives the range [0, 1].
 */
extern int	rp_svg_nice_ticks(double lo, double hi, int target,
							  double *first, double *last, double *step);

typedef enum rp_svg_kind
{
	RP_SVG_LINE,				/* points joined by straight segments */
	RP_SVG_STEP,				/* points joined by horizontal-then-vertical steps */
	RP_SVG_BARS,				/* one bar per point (grouped with other bar series) */
	RP_SVG_BAND,				/* a shaded band between lo and hi */
	RP_SVG_POINTS				/* markers, with error bars when lo/hi are given */
} rp_svg_kind;

typedef struct rp_svg_series
{
	rp_svg_kind kind;
	const char *name;			/* legend and titles; NULL: "series N" */
	int			n;				/* number of points */
	const double *x;			/* n values; ignored on a categorical chart */
	const double *y;			/* n values (unused by RP_SVG_BAND) */
	const double *lo;			/* n values for bands and error bars, or NULL */
	const double *hi;
	int			color;			/* palette index; -1: the series' position */
	int			dashed;			/* lines: draw dashed (a reference line) */
	int			no_legend;		/* leave out of the legend */
} rp_svg_series;

/*
 * A number stated in words next to the chart (a summary measure that has
 * no place on the axes, such as a Gini coefficient).  Consecutive facts of
 * the same group share one line under the subtitle: "group: label value,
 * label value"; each is a <tspan class="fact"> with data-group, data-key
 * and data-value (%.17g) attributes and a <title>.
 */
typedef struct rp_svg_fact
{
	const char *group;			/* the line's lead, e.g. a model; NULL: none */
	const char *key;			/* machine name (data-key) */
	const char *label;			/* shown */
	double		value;
} rp_svg_fact;

typedef struct rp_svg_chart
{
	const char *kind;			/* data-chart attribute, e.g. "metrics_at_k" */
	const char *title;			/* heading and document title */
	const char *subtitle;		/* smaller line under the heading, or NULL */
	const char *x_label;		/* axis label, or NULL */
	const char *x_unit;			/* shown as "label (unit)", or NULL */
	const char *y_label;
	const char *y_unit;
	/* categorical x: n_categories > 0; point i of each series is category i */
	int			n_categories;
	const char *const *categories;
	int			n_series;
	const rp_svg_series *series;
	int			y_from_zero;	/* the y axis includes 0 (always for bars) */
	int			x_integer;		/* numeric x: integer ticks only */
	int			width;			/* <= 0: 1000 */
	int			height;			/* <= 0: 560 */
	int			n_facts;		/* summary numbers under the subtitle */
	const rp_svg_fact *facts;
} rp_svg_chart;

/*
 * Renders the chart as one <svg> element appended to out.  Returns RP_OK,
 * RP_EINVAL for an inconsistent description (negative counts, a categorical
 * series whose n is not n_categories, a band without lo/hi), or RP_ENOMEM.
 */
extern rp_status rp_svg_render(rp_svg_buf *out, const rp_svg_chart *chart);

/*
 * Renders n charts (panels) stacked top to bottom in one <svg> element
 * whose data-chart is kind and whose document title is title; each panel
 * is a nested <svg class="rp-panel"> carrying its own data-chart, heading,
 * axes and marks, exactly as rp_svg_render draws it alone.  The panels
 * share the width of the first one.  Same returns as rp_svg_render.
 */
extern rp_status rp_svg_render_stack(rp_svg_buf *out, const char *kind,
									 const char *title, int n,
									 const rp_svg_chart *panels);

#endif							/* RP_SVG_H */
