/* report.h — report.html: one run on one page, readable offline (issue 19): the run's meta (GPU,
 * commit, ceilings, command), its summary tables (summary.h) and its plots, each SVG inlined. */
#ifndef SKV_REPORT_H
#define SKV_REPORT_H

#include <stdbool.h>
#include <stddef.h>

/* Write RUN_DIR/report.html (atomically) from RUN_DIR/meta.json, results.csv and the SVG files of plots/ (in
 * name order; a run without plots says so). False with err when meta.json or results.csv does not
 * load, an SVG cannot be read or the write fails. *nplots: the plots inlined. */
bool skv_report_write(const char *run_dir, int *nplots, char *err, size_t errlen);

#endif /* SKV_REPORT_H */
