/* summary.c — per-shape-group Markdown tables of a run (summary.h). */
#include "out/summary.h"

#include "out/html.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

const char *const skv_summary_group_columns[] = {
    "batch", "seqlen", "kvlen_min", "kvlen_max", "kvlen_mean", "qlen", "hq", "hkv", "head_dim", "page_size",
    "q_dtype", "kv_dtype", "v_dtype", "kv_scale_mode", "q_scale", "k_scale", "v_scale", "drop_scale", "lse_layout",
    "host_path", "gpu_model", "sms", NULL};

enum { MAX_GROUP_COLS = 32 };

/* Where the summary goes: Markdown, or HTML elements (escaped) for report.html. */
typedef struct emit {
  FILE *f;
  bool html;
} emit;

static void esc(emit *e, const char *s) {
  if (e->html) skv_html_escape(e->f, s);
  else fputs(s, e->f);
}

static void heading(emit *e, int level, const char *text) {
  if (e->html) {
    fprintf(e->f, "<h%d>", level);
    esc(e, text);
    fprintf(e->f, "</h%d>\n", level);
  } else {
    for (int i = 0; i < level; i++) fputc('#', e->f);
    fprintf(e->f, " %s\n\n", text);
  }
}

static void para(emit *e, const char *text) {
  if (e->html) fputs("<p>", e->f);
  esc(e, text);
  fputs(e->html ? "</p>\n" : "\n\n", e->f);
}

static void table_begin(emit *e, const char *const *head, const bool *right, int n) {
  fputs(e->html ? "<table>\n<tr>" : "|", e->f);
  for (int i = 0; i < n; i++) {
    if (e->html) fprintf(e->f, "<th%s>", right[i] ? " class=\"num\"" : "");
    else fputc(' ', e->f);
    esc(e, head[i]);
    fputs(e->html ? "</th>" : " |", e->f);
  }
  if (e->html) {
    fputs("</tr>\n", e->f);
    return;
  }
  fputs("\n|", e->f);
  for (int i = 0; i < n; i++) fputs(right[i] ? "---:|" : "---|", e->f);
  fputc('\n', e->f);
}

/* A row; the first cell in bold when bold is set (the group's best). */
static void table_row(emit *e, const char *const *cells, int n, bool bold) {
  fputs(e->html ? (bold ? "<tr class=\"best\">" : "<tr>") : "|", e->f);
  for (int i = 0; i < n; i++) {
    const bool b = bold && i == 0;
    if (e->html) fputs("<td>", e->f);
    else fputc(' ', e->f);
    fputs(b ? (e->html ? "<b>" : "**") : "", e->f);
    esc(e, cells[i]);
    fputs(b ? (e->html ? "</b>" : "**") : "", e->f);
    fputs(e->html ? "</td>" : " |", e->f);
  }
  fputs(e->html ? "</tr>\n" : "\n", e->f);
}

static void table_end(emit *e) { fputs(e->html ? "</table>\n" : "\n", e->f); }

/* Row r's group key: its group columns' values joined by a separator no value holds. */
char *skv_summary_group_key(const skv_csv_table *t, int64_t r) {
  size_t len = 1;
  for (int i = 0; skv_summary_group_columns[i]; i++) len += strlen(skv_csv_get(t, r, skv_csv_col(t, skv_summary_group_columns[i]))) + 1;
  char *k = malloc(len);
  if (!k) return NULL;
  k[0] = '\0';
  for (int i = 0; skv_summary_group_columns[i]; i++) {
    strcat(k, skv_csv_get(t, r, skv_csv_col(t, skv_summary_group_columns[i])));
    strcat(k, "\x1f");
  }
  return k;
}

void skv_summary_varying(const skv_csv_table *t, bool *varies) {
  for (int i = 0; skv_summary_group_columns[i]; i++) {
    const int32_t c = skv_csv_col(t, skv_summary_group_columns[i]);
    varies[i] = false;
    for (int64_t r = 1; r < t->nrows && !varies[i]; r++) varies[i] = strcmp(skv_csv_get(t, r, c), skv_csv_get(t, 0, c)) != 0;
  }
}

void skv_summary_group_label(const skv_csv_table *t, int64_t r, const bool *varies, char *buf, size_t len) {
  const char *L = skv_csv_get(t, r, skv_csv_col(t, "seqlen"));
  char *end;
  strtod(L, &end);
  const bool plain = L[0] && *end == '\0';
  size_t at = (size_t)snprintf(buf, len, "B=%s L=%s", skv_csv_get(t, r, skv_csv_col(t, "batch")), L);
  for (int i = 2; skv_summary_group_columns[i] && at < len; i++) {
    const char *name = skv_summary_group_columns[i];
    if (!varies[i] || (plain && strncmp(name, "kvlen_", 6) == 0)) continue;
    at += (size_t)snprintf(buf + at, len - at, " %s=%s", name, skv_csv_get(t, r, skv_csv_col(t, name)));
  }
}

static bool summary(emit *e, const skv_csv_table *t, char *err, size_t errlen) {
  int32_t gc[MAX_GROUP_COLS];
  int ngc = 0;
  for (int i = 0; skv_summary_group_columns[i]; i++) {
    gc[ngc] = skv_csv_col(t, skv_summary_group_columns[i]);
    if (gc[ngc] < 0) {
      snprintf(err, errlen, "results.csv has no column '%s'", skv_summary_group_columns[i]);
      return false;
    }
    ngc++;
  }
  static const char *const need[] = {"policy", "policy_options", "mode", "suite", "predicted_us", "total_us",
                                     "frac_of_read_ceiling", NULL};
  int32_t c[8];
  for (int i = 0; need[i]; i++)
    if ((c[i] = skv_csv_col(t, need[i])) < 0) {
      snprintf(err, errlen, "results.csv has no column '%s'", need[i]);
      return false;
    }
  const int32_t cpol = c[0], copt = c[1], cmode = c[2], csuite = c[3], cpred = c[4], ctot = c[5], cfrac = c[6];
  const int32_t cchk = skv_csv_col(t, "checks"), cmin = skv_csv_col(t, "total_min_us"),
                cmax = skv_csv_col(t, "total_max_us"), cq1 = skv_csv_col(t, "total_q1_us"),
                cq3 = skv_csv_col(t, "total_q3_us"), csp = skv_csv_col(t, "spread");
  const int64_t n = t->nrows;
  if (n == 0) {
    para(e, "(no rows)");
    return true;
  }
  const bool measured = strcmp(skv_csv_get(t, 0, cmode), "measured") == 0;
  /* Which group columns vary across the run: the headings name those (and always B and L). */
  bool varies[MAX_GROUP_COLS] = {false};
  skv_summary_varying(t, varies);
  /* Groups in first-seen order: group[r] is the group of row r, first[g] its first row. */
  char **keys = calloc((size_t)n, sizeof *keys);
  int64_t *group = malloc(sizeof *group * (size_t)n), *first = malloc(sizeof *first * (size_t)n);
  bool ok = keys && group && first;
  int64_t ng = 0;
  for (int64_t r = 0; ok && r < n; r++) {
    char *k = skv_summary_group_key(t, r);
    if (!k) {
      ok = false;
      break;
    }
    int64_t g = 0;
    while (g < ng && strcmp(keys[g], k) != 0) g++;
    if (g == ng) keys[ng] = k, first[ng++] = r;
    else free(k);
    group[r] = g;
  }
  if (!ok) {
    snprintf(err, errlen, "out of memory");
  } else {
    char text[2048];
    snprintf(text, sizeof text, "%s — %s run, %lld rows in %lld shape groups", skv_csv_get(t, 0, csuite),
             measured ? "measured" : "simulated (predicted times)", (long long)n, (long long)ng);
    heading(e, 2, text);
    size_t at = 0;
    char *end;
    strtod(skv_csv_get(t, 0, gc[1]), &end);
    const bool plain_l = skv_csv_get(t, 0, gc[1])[0] && *end == '\0'; /* L a number: kvlen_* say nothing more */
    for (int i = 0; i < ngc && at < sizeof text; i++)
      if (!varies[i] && strcmp(skv_summary_group_columns[i], "batch") != 0 &&
          strcmp(skv_summary_group_columns[i], "seqlen") != 0 && skv_csv_get(t, 0, gc[i])[0] &&
          !(plain_l && strncmp(skv_summary_group_columns[i], "kvlen_", 6) == 0))
        at += (size_t)snprintf(text + at, sizeof text - at, "%s%s %s", at ? ", " : "Every row: ", skv_summary_group_columns[i],
                               skv_csv_get(t, 0, gc[i]));
    if (at && at + 2 < sizeof text) {
      strcat(text, ".");
      para(e, text); /* the unchanging columns, named once under the title */
    }
    int64_t pass = 0, fail = 0, none = 0, unknown = 0, spread = 0;
    static const char *const head_m[8] = {"policy", "µs", "min–max µs", "IQR", "× best", "of read ceiling",
                                          "model error", "checks"};
    static const char *const head_s[4] = {"policy", "predicted µs", "× best", "checks"};
    static const bool right_m[8] = {false, true, true, true, true, true, true, false},
                      right_s[4] = {false, true, true, false};
    for (int64_t g = 0; g < ng; g++) {
      const int64_t r0 = first[g];
      char label[1024];
      skv_summary_group_label(t, r0, varies, label, sizeof label);
      heading(e, 3, label);
      double best = INFINITY;
      for (int64_t r = r0; r < n; r++)
        if (group[r] == g) {
          const double v = skv_csv_number(skv_csv_get(t, r, measured ? ctot : cpred));
          if (v < best) best = v;
        }
      table_begin(e, measured ? head_m : head_s, measured ? right_m : right_s, measured ? 8 : 4);
      for (int64_t r = r0; r < n; r++) {
        if (group[r] != g) continue;
        const char *pol = skv_csv_get(t, r, cpol), *opt = skv_csv_get(t, r, copt);
        const char *chk = cchk >= 0 ? skv_csv_get(t, r, cchk) : "n/a";
        if (strcmp(chk, "pass") == 0) pass++;
        else if (strcmp(chk, "fail") == 0) fail++;
        else if (strcmp(chk, "none") == 0) none++;
        else unknown++;
        const double v = skv_csv_number(skv_csv_get(t, r, measured ? ctot : cpred));
        char plabel[256];
        snprintf(plabel, sizeof plabel, "%s%s%s", pol, opt[0] ? " " : "", opt);
        char tv[32] = "—", ratio[32] = "—";
        if (!isnan(v)) snprintf(tv, sizeof tv, "%.2f", v), snprintf(ratio, sizeof ratio, "%.3f", v / best);
        if (measured) {
          const double lo = skv_csv_number(skv_csv_get(t, r, cmin)), hi = skv_csv_number(skv_csv_get(t, r, cmax));
          const double frac = skv_csv_number(skv_csv_get(t, r, cfrac)), pred = skv_csv_number(skv_csv_get(t, r, cpred));
          char range[48] = "—", fr[32] = "—", me[32] = "—";
          if (!isnan(lo) && !isnan(hi)) snprintf(range, sizeof range, "%.2f–%.2f", lo, hi);
          if (!isnan(frac)) snprintf(fr, sizeof fr, "%.3f", frac);
          if (!isnan(pred) && !isnan(v) && v > 0) snprintf(me, sizeof me, "%+.1f%%", 100 * (pred - v) / v);
          /* the interquartile range over the median, marked when the run flagged it (SKV_SPREAD_LIMIT) */
          const double q1 = cq1 >= 0 ? skv_csv_number(skv_csv_get(t, r, cq1)) : NAN, q3 = cq3 >= 0 ? skv_csv_number(skv_csv_get(t, r, cq3)) : NAN;
          const bool wide = csp >= 0 && strcmp(skv_csv_get(t, r, csp), "yes") == 0;
          char iqr[32] = "—";
          if (!isnan(q1) && !isnan(q3) && v > 0) snprintf(iqr, sizeof iqr, "%.1f%%%s", 100 * (q3 - q1) / v, wide ? " (spread)" : "");
          spread += wide;
          const char *cells[8] = {plabel, tv, range, iqr, ratio, fr, me, chk};
          table_row(e, cells, 8, v == best);
        } else {
          const char *cells[4] = {plabel, tv, ratio, chk};
          table_row(e, cells, 4, v == best);
        }
      }
      table_end(e);
    }
    at = (size_t)snprintf(text, sizeof text, "Checks: %lld pass, %lld fail, %lld none", (long long)pass, (long long)fail,
                          (long long)none);
    if (unknown)
      at += (size_t)snprintf(text + at, sizeof text - at,
                             ", %lld without a verdict (a results.csv from before the `checks` column)", (long long)unknown);
    if (spread)
      at += (size_t)snprintf(text + at, sizeof text - at, "; %lld rows with an interquartile range over 5%% of their median "
                                                          "(spread)", (long long)spread);
    snprintf(text + at, sizeof text - at, "%s",
             measured ? ". Model error: (predicted − measured) / measured of decode + combine; × best: the row's time "
                        "over its group's best (bold)."
                      : ". × best: the row's predicted time over its group's best (bold).");
    para(e, text);
  }
  for (int64_t g = 0; keys && g < ng; g++) free(keys[g]);
  free(keys);
  free(group);
  free(first);
  return ok;
}

/* The sharing tokens of a configuration's name: the suite names a configuration by its varying keys,
 * shared_prefix, group_size and group_prefix as sp<n>, gs<n>, gp<n> (harness/suite/suite.c); they
 * are no column of results.csv, so two cascade configurations of one shape differ only there. */
static void sharing_tokens(const char *cfg, char *buf, size_t len) {
  size_t at = 0;
  buf[0] = '\0';
  for (const char *p = cfg; *p && at + 1 < len;) {
    const char *e = strchr(p, '-');
    const size_t n = e ? (size_t)(e - p) : strlen(p);
    const bool lab = n > 2 && (strncmp(p, "sp", 2) == 0 || strncmp(p, "gs", 2) == 0 || strncmp(p, "gp", 2) == 0);
    bool digits = lab;
    for (size_t i = 2; digits && i < n; i++) digits = p[i] >= '0' && p[i] <= '9';
    if (digits) at += (size_t)snprintf(buf + at, len - at, "%s%.*s", at ? " " : "", (int)n, p);
    p += n + (e ? 1 : 0);
  }
}

char *skv_summary_point_key(const skv_csv_table *t, int64_t r) {
  char *g = skv_summary_group_key(t, r), sh[128];
  if (!g) return NULL;
  sharing_tokens(skv_csv_get(t, r, skv_csv_col(t, "config")), sh, sizeof sh);
  char *k = malloc(strlen(g) + strlen(sh) + 1);
  if (k) strcpy(k, g), strcat(k, sh);
  free(g);
  return k;
}

void skv_summary_point_label(const skv_csv_table *t, int64_t r, const bool *varies, char *buf, size_t len) {
  skv_summary_group_label(t, r, varies, buf, len);
  char sh[128];
  sharing_tokens(skv_csv_get(t, r, skv_csv_col(t, "config")), sh, sizeof sh);
  const size_t n = strlen(buf);
  if (sh[0] && n + 1 < len) snprintf(buf + n, len - n, " %s", sh);
}

double skv_summary_lab_time(const skv_csv_table *t, int64_t r, bool *cascade) {
  const double fd = skv_csv_num(t, r, skv_csv_col(t, "total_us")), cas = skv_csv_num(t, r, skv_csv_col(t, "cascade_us"));
  *cascade = !isnan(cas) && !(cas >= fd);
  return *cascade ? cas : fd;
}

int64_t skv_summary_lab_best(const skv_csv_table *t, const char *key, double *us, bool *cascade) {
  const int32_t chk = skv_csv_col(t, "checks");
  int64_t best = -1;
  *us = NAN, *cascade = false;
  for (int64_t r = 0; r < t->nrows; r++) {
    bool cas;
    const double v = skv_summary_lab_time(t, r, &cas);
    if (isnan(v) || (chk >= 0 && strcmp(skv_csv_get(t, r, chk), "fail") == 0) || (best >= 0 && !(v < *us))) continue;
    char *k = skv_summary_point_key(t, r);
    if (!k) return -2;
    if (strcmp(k, key) == 0) best = r, *us = v, *cascade = cas;
    free(k);
  }
  return best;
}

/* The peers' section: per shape group that a peer timed, the lab's best row (its policy, time —
 * its cascade's where that was faster — and fraction of the read ceiling) beside each peer's time and lab ÷ peer (under 1: the lab is faster).
 * A peer row whose check failed shows its time marked, never a ratio. */
enum { MAX_PEERS = 16 };

static bool peers_section(emit *e, const skv_csv_table *t, const skv_csv_table *p, char *err, size_t errlen) {
  const int32_t tpol = skv_csv_col(t, "policy"), ttot = skv_csv_col(t, "total_us"),
                tfrac = skv_csv_col(t, "frac_of_read_ceiling"), tcomb = skv_csv_col(t, "combine");
  const int32_t ppol = skv_csv_col(p, "policy"), ptot = skv_csv_col(p, "total_us"), pchk = skv_csv_col(p, "checks");
  if (tpol < 0 || ttot < 0 || ppol < 0 || ptot < 0) {
    snprintf(err, errlen, "peers: results.csv and peers.csv need the policy and total_us columns");
    return false;
  }
  if (p->nrows == 0) {
    heading(e, 2, "Peers (peers.csv)");
    para(e, "peers.csv holds no rows: no peer took any configuration of this run (peers.json says why).");
    return true;
  }
  const char *names[MAX_PEERS];
  int np = 0;
  for (int64_t r = 0; r < p->nrows; r++) {
    const char *n = skv_csv_get(p, r, ppol);
    int i = 0;
    while (i < np && strcmp(names[i], n) != 0) i++;
    if (i == np) {
      if (np == MAX_PEERS) {
        snprintf(err, errlen, "peers.csv: more than %d peers", MAX_PEERS);
        return false;
      }
      names[np++] = n;
    }
  }
  char **pkeys = calloc((size_t)(p->nrows > 0 ? p->nrows : 1), sizeof *pkeys);
  bool ok = pkeys != NULL;
  for (int64_t r = 0; ok && r < p->nrows; r++) ok = (pkeys[r] = skv_summary_point_key(p, r)) != NULL;
  bool varies[MAX_GROUP_COLS] = {false};
  skv_summary_varying(t, varies);
  const int ncols = 4 + 2 * np;
  char head_buf[2 * MAX_PEERS][48];
  const char *head[4 + 2 * MAX_PEERS] = {"shape", "lab best", "µs", "of read ceiling"};
  bool right[4 + 2 * MAX_PEERS] = {false, false, true, true};
  for (int i = 0; i < np; i++) {
    snprintf(head_buf[2 * i], sizeof head_buf[0], "%s µs", names[i]);
    snprintf(head_buf[2 * i + 1], sizeof head_buf[0], "lab ÷ %s", names[i]);
    head[4 + 2 * i] = head_buf[2 * i], head[5 + 2 * i] = head_buf[2 * i + 1];
    right[4 + 2 * i] = right[5 + 2 * i] = true;
  }
  int64_t shown = 0, without = 0, faster = 0, slower = 0;
  char **seen = calloc((size_t)(t->nrows > 0 ? t->nrows : 1), sizeof *seen);
  int64_t nseen = 0;
  ok = ok && seen;
  if (ok) {
    heading(e, 2, "Peers (peers.csv): the lab's best beside other libraries on the same configurations");
    table_begin(e, head, right, ncols);
  }
  for (int64_t r0 = 0; ok && r0 < t->nrows; r0++) {
    char *k = skv_summary_point_key(t, r0);
    if (!k) {
      ok = false;
      break;
    }
    bool dup = false;
    for (int64_t i = 0; i < nseen && !dup; i++) dup = strcmp(seen[i], k) == 0;
    if (dup) {
      free(k);
      continue;
    }
    seen[nseen++] = k;
    /* the lab's best checked row of this group (its cascade too, where the row ran one) */
    double lab;
    bool best_cascade;
    const int64_t best = skv_summary_lab_best(t, k, &lab, &best_cascade);
    if (best == -2) ok = false;
    bool any = false;
    for (int64_t r = 0; r < p->nrows && !any; r++) any = strcmp(pkeys[r], k) == 0;
    if (!ok) break;
    if (!any) {
      without++;
      continue;
    }
    char label[1024], pol[64] = "—", tv[32] = "—", fr[32] = "—";
    char cell_buf[2 * MAX_PEERS][48];
    const char *cells[4 + 2 * MAX_PEERS];
    skv_summary_point_label(t, r0, varies, label, sizeof label);
    if (best >= 0) {
      const bool fused = tcomb >= 0 && strcmp(skv_csv_get(t, best, tcomb), "fused") == 0;
      snprintf(pol, sizeof pol, "%s%s", skv_csv_get(t, best, tpol), best_cascade ? " cascade" : fused ? "+fused" : "");
      snprintf(tv, sizeof tv, "%.2f", lab);
      const double f = skv_csv_num(t, best, tfrac) * skv_csv_num(t, best, ttot) / lab; /* the same bytes over the time */
      if (!isnan(f)) snprintf(fr, sizeof fr, "%.3f", f);
    }
    cells[0] = label, cells[1] = pol, cells[2] = tv, cells[3] = fr;
    for (int i = 0; i < np; i++) {
      int64_t pr = -1;
      for (int64_t r = 0; r < p->nrows && pr < 0; r++)
        if (strcmp(pkeys[r], k) == 0 && strcmp(skv_csv_get(p, r, ppol), names[i]) == 0) pr = r;
      snprintf(cell_buf[2 * i], sizeof cell_buf[0], "—");
      snprintf(cell_buf[2 * i + 1], sizeof cell_buf[0], "—");
      const double v = pr >= 0 ? skv_csv_num(p, pr, ptot) : NAN;
      const bool failed = pr >= 0 && pchk >= 0 && strcmp(skv_csv_get(p, pr, pchk), "pass") != 0;
      if (!isnan(v)) snprintf(cell_buf[2 * i], sizeof cell_buf[0], "%.2f%s", v, failed ? " (check failed)" : "");
      if (!isnan(v) && !failed && !isnan(lab)) {
        snprintf(cell_buf[2 * i + 1], sizeof cell_buf[0], "%.3f", lab / v);
        faster += lab < v, slower += lab > v;
      }
      cells[4 + 2 * i] = cell_buf[2 * i], cells[5 + 2 * i] = cell_buf[2 * i + 1];
    }
    table_row(e, cells, ncols, false);
    shown++;
  }
  if (ok) {
    table_end(e);
    char text[600];
    snprintf(text, sizeof text,
             "%lld shape groups with peer rows (%lld without); of the lab-peer pairs, the lab is faster in %lld and "
             "slower in %lld. lab ÷ peer under 1: the lab's best is faster. Peers are timed by the lab's rules "
             "(peers/skv_peers.py; their versions in policy_options and peers.json) and checked against a float64 "
             "reference of their own inputs.",
             (long long)shown, (long long)without, (long long)faster, (long long)slower);
    para(e, text);
  } else if (!err[0]) {
    snprintf(err, errlen, "out of memory");
  }
  for (int64_t i = 0; i < nseen; i++) free(seen[i]);
  free(seen);
  for (int64_t r = 0; pkeys && r < p->nrows; r++) free(pkeys[r]);
  free(pkeys);
  return ok;
}

bool skv_summary_write_peers(FILE *f, const skv_csv_table *t, const skv_csv_table *peers, char *err, size_t errlen) {
  emit e = {f, false};
  err[0] = '\0';
  return peers_section(&e, t, peers, err, errlen);
}

bool skv_summary_write_peers_html(FILE *f, const skv_csv_table *t, const skv_csv_table *peers, char *err,
                                  size_t errlen) {
  emit e = {f, true};
  err[0] = '\0';
  return peers_section(&e, t, peers, err, errlen);
}

bool skv_summary_write(FILE *f, const skv_csv_table *t, char *err, size_t errlen) {
  emit e = {f, false};
  return summary(&e, t, err, errlen);
}

bool skv_summary_write_html(FILE *f, const skv_csv_table *t, char *err, size_t errlen) {
  emit e = {f, true};
  return summary(&e, t, err, errlen);
}
