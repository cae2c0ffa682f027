/* format_svg.c - the flame graph: one SVG file that needs nothing else (no
 * external script, style or font), so it can be attached to a CI run or a
 * review and opened in any browser. The root ("all") is the bottom row; a
 * frame's width is its share of the weight, children sit on top of their
 * parent in name order. Each frame is a <g class="f"> holding a <title>
 * (the tooltip: name, weight, share), a <rect> and a <text> label cut to
 * fit. The embedded script adds what a static picture cannot: click a
 * frame to zoom into it, "Reset zoom" to go back, "Search" to highlight
 * frames matching a regular expression with the share they cover, and the
 * hovered frame's details in the bottom line. Names are written as XML text
 * (escaped; bytes outside printable ASCII become '?'), so the file parses
 * as XML whatever the symbols hold. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flame.h"
#include "format.h"
#include "outfile.h"
#include "report_mem.h"
#include "units.h"

#define SVG_WIDTH 1200     /* px: the usual flame-graph width */
#define SVG_MARGIN 10      /* px left and right */
#define SVG_FRAME_HEIGHT 16 /* px per stack level */
#define SVG_TOP 50         /* px above the frames: title, subtitle, buttons */
#define SVG_BOTTOM 30      /* px below: the details line */
#define SVG_MIN_WIDTH 0.1  /* px: narrower frames (and their children) are left out */
#define SVG_FONT_PX 12     /* labels, buttons, subtitle */
#define SVG_TITLE_FONT_PX 17
/* Advance of one character of a monospace font, in ems: 0.6 for the
 * usual ones (DejaVu Sans Mono, Liberation Mono, Courier), which Chromium
 * draws 7.2 px wide at 12 px. The script measures the real width on load
 * and refits the labels, so a wider font still fits its frames. */
#define SVG_CHAR_EM 0.6
#define SVG_CHAR_WIDTH (SVG_CHAR_EM * SVG_FONT_PX)
#define SVG_BUTTON_GAP 16  /* px kept free between the title and each button */

static void svg_text(FILE *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        switch (*p) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&apos;", out); break;
        default: fputc(*p >= 0x20 && *p < 0x7f ? *p : '?', out);
        }
    }
}

/* Writes text cut to fit characters: the text, or its start and "..",
 * escaped; nothing when fewer than 3 fit. The script applies the same rule
 * when it recuts. */
static void svg_text_cut(FILE *out, const char *text, int fit)
{
    int len = (int)strlen(text);
    if (fit < 3)
        return;
    if (len <= fit) {
        svg_text(out, text);
        return;
    }
    char cut[1024];
    int keep = fit - 2 < (int)sizeof cut - 3 ? fit - 2 : (int)sizeof cut - 3;
    snprintf(cut, sizeof cut, "%.*s..", keep, text);
    svg_text(out, cut);
}

/* The label that fits a frame w px wide. */
static void svg_label(FILE *out, const char *name, double w)
{
    svg_text_cut(out, name, (int)floor((w - 6) / SVG_CHAR_WIDTH));
}

/* A warm colour from the name, so one function keeps its colour across
 * graphs; frames without a symbol and the "no stack" frame are grey, the
 * per-process roots blue. */
static void svg_colour(const struct flame_node *n, bool process_root, char *buf, size_t cap)
{
    if (process_root) {
        snprintf(buf, cap, "rgb(120,160,220)");
        return;
    }
    if (strncmp(n->name, "0x", 2) == 0 || strcmp(n->name, WEIGHT_NO_STACK) == 0) {
        snprintf(buf, cap, "rgb(190,190,190)");
        return;
    }
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)n->name; *p != '\0'; p++)
        h = (h ^ *p) * 16777619u;
    snprintf(buf, cap, "rgb(%u,%u,%u)", 205 + h % 50, 80 + (h >> 8) % 140, (h >> 16) % 60);
}

/* A weight as a phrase: "95.5 MiB allocated (100187744 bytes)", "20000
 * allocations", "1.4 KiB live at exit (1400 bytes)". */
static void svg_amount(char *buf, size_t cap, enum weight_kind kind, double value)
{
    char human[UNITS_BUF];
    switch (kind) {
    case WEIGHT_ALLOC_BYTES:
        snprintf(buf, cap, "%s allocated (%.0f bytes)", units_bytes(human, sizeof human, value),
                 value);
        return;
    case WEIGHT_LIVE_BYTES:
        snprintf(buf, cap, "%s live at exit (%.0f bytes)", units_bytes(human, sizeof human, value),
                 value);
        return;
    case WEIGHT_ALLOCS: snprintf(buf, cap, "%.0f allocations", value); return;
    case WEIGHT_LIVE_BLOCKS: snprintf(buf, cap, "%.0f blocks live at exit", value); return;
    }
    snprintf(buf, cap, "%.0f", value);
}

struct svg_layout {
    FILE *out;
    const struct flame *f;
    double scale;       /* px per unit of weight */
    double total;
    int height;
    bool per_process;   /* depth 1 frames are process roots */
};

/* Writes one frame; false when it is too narrow to draw (its children
 * are then narrower still). */
static bool svg_frame(const struct svg_layout *l, size_t i, double x)
{
    const struct flame_node *n = &l->f->nodes[i];
    double w = n->value * l->scale;
    if (w < SVG_MIN_WIDTH)
        return false;
    double y = l->height - SVG_BOTTOM - (double)(n->depth + 1) * SVG_FRAME_HEIGHT;
    char colour[32], amount[128];
    svg_colour(n, l->per_process && n->depth == 1, colour, sizeof colour);
    svg_amount(amount, sizeof amount, l->f->kind, n->value);
    fprintf(l->out, "<g class=\"f\" data-d=\"%zu\" data-x=\"%.3f\" data-w=\"%.3f\" data-n=\"",
            n->depth, x, w);
    svg_text(l->out, n->name);
    fputs("\"><title>", l->out);
    svg_text(l->out, n->name);
    fprintf(l->out, ": %s, %.2f%%</title>", amount,
            l->total > 0 ? 100.0 * n->value / l->total : 0.0);
    fprintf(l->out,
            "<rect x=\"%.3f\" y=\"%.1f\" width=\"%.3f\" height=\"%d\" rx=\"2\" fill=\"%s\"/>"
            "<text x=\"%.3f\" y=\"%.1f\">",
            x, y, w, SVG_FRAME_HEIGHT - 1, colour, x + 3, y + SVG_FRAME_HEIGHT - 4.5);
    svg_label(l->out, n->name, w);
    fputs("</text></g>\n", l->out);
    return true;
}

/* Writes the tree depth first, each frame's children left to right from
 * its x. Iterative, with one entry per level of the path being walked: a
 * stack as deep as the run's deepest one needs no C stack of its own. */
static void svg_tree(const struct svg_layout *l, double x0)
{
    struct svg_walk {
        size_t child;   /* next child to draw, FLAME_NONE when done */
        double child_x; /* where it goes */
    } *walk = mem_zalloc(l->f->max_depth + 2, sizeof *walk);
    size_t depth = 0;
    if (svg_frame(l, 0, x0))
        walk[depth++] = (struct svg_walk){l->f->nodes[0].first_child, x0};
    while (depth > 0) {
        struct svg_walk *top = &walk[depth - 1];
        size_t c = top->child;
        if (c == FLAME_NONE) {
            depth--;
            continue;
        }
        const struct flame_node *n = &l->f->nodes[c];
        double x = top->child_x;
        top->child = n->next_sibling;
        top->child_x += n->value * l->scale;
        if (svg_frame(l, c, x) && n->first_child != FLAME_NONE)
            walk[depth++] = (struct svg_walk){n->first_child, x};
    }
    free(walk);
}

/* The interactive part. Frames keep their drawn geometry in data-x/data-w
 * and their level in data-d; zooming maps each frame from those. */
static const char svg_script[] =
    "var frames, details, searchInfo, W = " "%d" ", M = " "%d" ", CW = " "%.2f" ";\n"
    "function num(g, a) { return parseFloat(g.getAttribute(a)); }\n"
    "function fit(g, x, w) {\n"
    "  var r = g.querySelector('rect'), t = g.querySelector('text');\n"
    "  var name = g.getAttribute('data-n'), n = Math.floor((w - 6) / CW);\n"
    "  r.setAttribute('x', x); r.setAttribute('width', w); t.setAttribute('x', x + 3);\n"
    "  t.textContent = n < 3 ? '' : name.length <= n ? name : name.substring(0, n - 2) + '..';\n"
    "}\n"
    "function zoom(g) {\n"
    "  var x0 = num(g, 'data-x'), w0 = num(g, 'data-w'), d0 = num(g, 'data-d');\n"
    "  var s = (W - 2 * M) / w0, e = 1e-6 * W;\n"
    "  for (var i = 0; i < frames.length; i++) {\n"
    "    var f = frames[i], x = num(f, 'data-x'), w = num(f, 'data-w'), d = num(f, 'data-d');\n"
    "    if (d >= d0 && x >= x0 - e && x + w <= x0 + w0 + e) {\n"
    "      f.style.display = ''; f.style.opacity = ''; fit(f, M + (x - x0) * s, w * s);\n"
    "    } else if (d < d0 && x <= x0 + e && x + w >= x0 + w0 - e) {\n"
    "      f.style.display = ''; f.style.opacity = '0.6'; fit(f, M, W - 2 * M);\n"
    "    } else {\n"
    "      f.style.display = 'none';\n"
    "    }\n"
    "  }\n"
    "  document.getElementById('reset').style.opacity = '1';\n"
    "}\n"
    "function reset() {\n"
    "  for (var i = 0; i < frames.length; i++) {\n"
    "    var f = frames[i];\n"
    "    f.style.display = ''; f.style.opacity = ''; fit(f, num(f, 'data-x'), num(f, 'data-w'));\n"
    "  }\n"
    "  document.getElementById('reset').style.opacity = '0.3';\n"
    "}\n"
    "function search() {\n"
    "  var text = prompt('Highlight frames matching (regular expression):', '');\n"
    "  var spans = [], re = null;\n"
    "  if (text) { try { re = new RegExp(text); } catch (err) { alert(err); return; } }\n"
    "  for (var i = 0; i < frames.length; i++) {\n"
    "    var f = frames[i], r = f.querySelector('rect');\n"
    "    if (!r.hasAttribute('data-fill')) r.setAttribute('data-fill', r.getAttribute('fill'));\n"
    "    var hit = re !== null && re.test(f.getAttribute('data-n'));\n"
    "    r.setAttribute('fill', hit ? 'rgb(230,0,230)' : r.getAttribute('data-fill'));\n"
    "    if (hit) spans.push([num(f, 'data-x'), num(f, 'data-x') + num(f, 'data-w')]);\n"
    "  }\n"
    "  spans.sort(function (a, b) { return a[0] - b[0]; });\n"
    "  var covered = 0, end = -1;\n"
    "  for (var j = 0; j < spans.length; j++) {\n"
    "    var a = Math.max(spans[j][0], end), b = spans[j][1];\n"
    "    if (b > a) covered += b - a;\n"
    "    end = Math.max(end, b);\n"
    "  }\n"
    "  searchInfo.textContent = re === null ? '' :\n"
    "    'matched ' + (100 * covered / (W - 2 * M)).toFixed(1) + '%%';\n"
    "}\n"
    "function measure() {\n"
    "  var probe = document.getElementById('probe');\n"
    "  var cw = probe.getComputedTextLength() / probe.textContent.length;\n"
    "  if (!(cw > 0) || Math.abs(cw - CW) < 0.01) return;\n"
    "  CW = cw;\n"
    "  for (var i = 0; i < frames.length; i++)\n"
    "    fit(frames[i], num(frames[i], 'data-x'), num(frames[i], 'data-w'));\n"
    "  var heads = document.querySelectorAll('text.head');\n"
    "  for (var j = 0; j < heads.length; j++) {\n"
    "    var h = heads[j], full = h.getAttribute('data-t'), em = num(h, 'data-em');\n"
    "    var n = Math.floor(num(h, 'data-room') / (CW * em / " "%d" "));\n"
    "    h.firstChild.textContent = n < 3 ? '' : full.length <= n ? full : full.substring(0, n - 2) + '..';\n"
    "  }\n"
    "}\n"
    "function init() {\n"
    "  frames = document.querySelectorAll('g.f');\n"
    "  details = document.getElementById('details');\n"
    "  searchInfo = document.getElementById('matched');\n"
    "  for (var i = 0; i < frames.length; i++) {\n"
    "    frames[i].addEventListener('click', function () { zoom(this); });\n"
    "    frames[i].addEventListener('mouseover', function () {\n"
    "      details.textContent = this.querySelector('title').textContent; });\n"
    "    frames[i].addEventListener('mouseout', function () { details.textContent = ' '; });\n"
    "  }\n"
    "  document.getElementById('reset').addEventListener('click', reset);\n"
    "  document.getElementById('search').addEventListener('click', search);\n"
    "  measure();\n"
    "}\n"
    "window.addEventListener('load', init);\n";

static void svg_subtitle(FILE *out, const struct model *m, const struct flame *f)
{
    char total[128];
    svg_amount(total, sizeof total, f->kind, f->nodes[0].value);
    fprintf(out, "%zu stacks, %s", f->stacks, total);
    if (m->sampled)
        fputs("; estimated from sampled stacks", out);
    if (m->live)
        fputs("; the run was still going: a snapshot", out);
}

/* A centred heading (title or subtitle) that must leave `side_px` free at
 * both ends for the buttons: cut to fit, with the whole text as its
 * tooltip and in data-t, from which the script recuts it once it knows
 * the font's real width. */
static void svg_heading(FILE *out, const char *cls, int y, int font_px, double side_px,
                        const char *text)
{
    double room = SVG_WIDTH - 2.0 * side_px;
    int fit = (int)floor(room / (SVG_CHAR_WIDTH * font_px / SVG_FONT_PX));
    fprintf(out,
            "<text class=\"head %s\" x=\"%d\" y=\"%d\" text-anchor=\"middle\" data-room=\"%.1f\" "
            "data-em=\"%d\" data-t=\"",
            cls, SVG_WIDTH / 2, y, room, font_px);
    svg_text(out, text);
    fputs("\"><tspan>", out);
    svg_text_cut(out, text, fit);
    fputs("</tspan><title>", out);
    svg_text(out, text);
    fputs("</title></text>\n", out);
}

int format_svg(const char *path, const struct model *m, enum weight_kind kind, char *err,
               size_t err_cap)
{
    FILE *out = outfile_open(path, "flame graph", err, err_cap);
    if (out == NULL)
        return -1;
    struct flame f;
    flame_build(&f, m, kind);
    struct svg_layout l = {.out = out, .f = &f, .total = f.nodes[0].value,
                           .per_process = weight_process_count(m, kind) > 1};
    l.scale = l.total > 0 ? (SVG_WIDTH - 2.0 * SVG_MARGIN) / l.total : 0;
    l.height = SVG_TOP + (int)(f.max_depth + 1) * SVG_FRAME_HEIGHT + SVG_BOTTOM;
    const struct model_process *root = m->process_count ? &m->processes[0] : NULL;

    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n", out);
    fprintf(out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" "
            "height=\"%d\" viewBox=\"0 0 %d %d\">\n",
            SVG_WIDTH, l.height, SVG_WIDTH, l.height);
    fprintf(out,
            "<style>\n"
            "text { font-family: monospace; font-size: %dpx; fill: rgb(0,0,0); }\n"
            "g.f { cursor: pointer; }\n"
            "g.f:hover rect { stroke: rgb(0,0,0); stroke-width: 0.6; }\n"
            "text.title { font-size: %dpx; }\n"
            "text.button { fill: rgb(0,0,160); cursor: pointer; }\n"
            "</style>\n<script type=\"text/ecmascript\"><![CDATA[\n",
            SVG_FONT_PX, SVG_TITLE_FONT_PX);
    fprintf(out, svg_script, SVG_WIDTH, SVG_MARGIN, SVG_CHAR_WIDTH, SVG_FONT_PX);
    fputs("]]></script>\n", out);
    fprintf(out, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"rgb(250,250,242)\"/>\n",
            SVG_WIDTH, l.height);
    /* The buttons sit at the ends of the title's line ("Reset zoom", 10
     * characters, is the wider) and the search result at the right end of
     * the subtitle's ("matched 100.0%", 14): the headings stay between. */
    char title[1024], subtitle[512];
    snprintf(title, sizeof title, "Flame graph of %s%s%s", weight_describe(kind),
             root != NULL && root->exe != NULL ? ": " : "",
             root == NULL || root->exe == NULL ? "" : root->cmdline ? root->cmdline : root->exe);
    svg_heading(out, "title", 22, SVG_TITLE_FONT_PX,
                SVG_MARGIN + 10 * SVG_CHAR_WIDTH + SVG_BUTTON_GAP, title);
    subtitle[0] = '\0';
    FILE *mem = fmemopen(subtitle, sizeof subtitle, "w");
    if (mem != NULL) {
        svg_subtitle(mem, m, &f);
        fclose(mem);
    }
    svg_heading(out, "subtitle", 40, SVG_FONT_PX,
                SVG_MARGIN + 14 * SVG_CHAR_WIDTH + SVG_BUTTON_GAP, subtitle);
    fprintf(out,
            "<text id=\"reset\" class=\"button\" x=\"%d\" y=\"22\" style=\"opacity:0.3\">"
            "Reset zoom</text>\n"
            "<text id=\"search\" class=\"button\" x=\"%d\" y=\"22\" text-anchor=\"end\">"
            "Search</text>\n"
            "<text id=\"matched\" x=\"%d\" y=\"40\" text-anchor=\"end\"> </text>\n"
            "<text id=\"details\" x=\"%d\" y=\"%d\"> </text>\n"
            "<text id=\"probe\" x=\"0\" y=\"%d\" style=\"visibility:hidden\">"
            "MMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMM</text>\n",
            SVG_MARGIN, SVG_WIDTH - SVG_MARGIN, SVG_WIDTH - SVG_MARGIN, SVG_MARGIN,
            l.height - 10, l.height - 10);
    fputs("<g id=\"frames\">\n", out);
    if (l.total > 0)
        svg_tree(&l, SVG_MARGIN);
    else
        fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">nothing to show: no %s</text>\n",
                SVG_WIDTH / 2, SVG_TOP + 20, weight_describe(kind));
    fputs("</g>\n</svg>\n", out);
    flame_free(&f);
    return outfile_close(out, path, err, err_cap);
}
